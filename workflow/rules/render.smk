# HRIR and BRIR sets (SOFA) and the Two!Ears-style binaural renders through them.

rule make_hrir:
    output: f"{D}/ir/{HRIR}.sofa"
    log: f"{LOGS}/make_hrir.log"
    params: digest=digest("audio", "hrir")
    shell: "{CLI} make-hrir {OPTS} --out {output} --log {log}"


rule make_brir:
    input: hrir=f"{D}/ir/{HRIR}.sofa"
    output: f"{D}/ir/{{room}}.sofa"
    wildcard_constraints: room="|".join(ROOMS)
    log: f"{LOGS}/make_brir_{{room}}.log"
    params: digest=digest("rooms")
    shell: "{CLI} make-brir {OPTS} --room {wildcards.room} --hrir {input.hrir} --out {output} --log {log}"


rule render_hrir:
    input: ir=f"{D}/ir/{HRIR}.sofa", splits=f"{D}/splits"
    output: directory(f"{D}/binaural/{HRIR}")
    log: f"{LOGS}/render_{HRIR}.log"
    params: digest=digest("audio", "render")
    shell: "{CLI} render-split {OPTS} --dataset {D} --ir {input.ir} --out {output} --splits train,val,test --log {log}"


rule render_room:
    input: ir=f"{D}/ir/{{room}}.sofa", splits=f"{D}/splits"
    output: directory(f"{D}/binaural/{{room}}")
    wildcard_constraints: room="|".join(ROOMS)
    log: f"{LOGS}/render_{{room}}.log"
    params: digest=digest("audio", "render"), splits=",".join(P["render"]["room_splits"])
    shell: "{CLI} render-split {OPTS} --dataset {D} --ir {input.ir} --out {output} --splits {params.splits} --log {log}"
