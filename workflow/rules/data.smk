# Data sources in the data contract: embedded (generated offline) or real (see `points2sound data`).

if P["dataset"]["source"] == "embedded":

    rule embed_audio:
        output: directory(f"{D}/audio")
        log: f"{LOGS}/embed_audio.log"
        params: digest=digest("instruments", "audio", "embedded_audio")
        shell: "{CLI} embed-audio {OPTS} --out {output} --log {log}"

    rule embed_frames:
        output: directory(f"{D}/frames")
        log: f"{LOGS}/embed_frames.log"
        params: digest=digest("instruments", "dataset", "embedded_frames")
        shell: "{CLI} embed-frames {OPTS} --out {output} --log {log}"

    rule embed_shapes:
        output: directory(f"{D}/shapes")
        log: f"{LOGS}/embed_shapes.log"
        params: digest=digest("shapes")
        shell: "{CLI} embed-shapes {OPTS} --out {output} --log {log}"


rule split:
    input: f"{D}/audio", f"{D}/frames"
    output: directory(f"{D}/splits")
    log: f"{LOGS}/split.log"
    params: digest=digest("instruments", "audio", "splits")
    shell: "{CLI} split {OPTS} --dataset {D} --log {log}"
