# Test scenes, materialized once per IR set so every model is scored on the same ones.

rule test_scenes_hrir:
    input: renders=f"{D}/binaural/{HRIR}", splits=f"{D}/splits", ir=f"{D}/ir/{HRIR}.sofa"
    output: directory(f"{D}/scenes/test_{HRIR}")
    log: f"{LOGS}/scenes_{HRIR}.log"
    params: digest=digest("scenes", "render")
    shell: "{CLI} scenes {OPTS} --dataset {D} --ir-set {HRIR} --out {output} --log {log}"


rule test_scenes_room:
    input: renders=f"{D}/binaural/{{room}}", splits=f"{D}/splits", ir=f"{D}/ir/{{room}}.sofa"
    output: directory(f"{D}/scenes/test_{{room}}")
    wildcard_constraints: room="|".join(ROOMS)
    log: f"{LOGS}/scenes_{{room}}.log"
    params: digest=digest("scenes", "render")
    shell: "{CLI} scenes {OPTS} --dataset {D} --ir-set {wildcards.room} --out {output} --log {log}"


rule data_half:
    input:
        f"{D}/shapes",
        expand(f"{D}/scenes/test_{{irset}}", irset=[HRIR] + ROOMS),
