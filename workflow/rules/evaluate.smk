# Scoring every variant and baseline on the same materialized test scenes, anechoic and in
# each room; then the tables, figures and report, all computed from the per-scene scores.
# Scores: results/<profile>/scores/<variant or mono_mono>/<ir_set>.csv, one row per scene.

IRSETS = [HRIR] + ROOMS
HEADLINE = "p2s_rgb"  # the report's headline model (Figures 4 and 5, listening examples)


rule evaluate_variant:
    input: model=f"{MODELS}/{{variant}}", scenes=f"{D}/scenes/test_{{irset}}"
    output: f"{RESULTS}/scores/{{variant}}/{{irset}}.csv"
    wildcard_constraints: variant="|".join(VARIANTS), irset="|".join(IRSETS)
    log: f"{LOGS}/evaluate_{{variant}}_{{irset}}.log"
    threads: 1
    shell:
        "{CLI} evaluate {OPTS} --variant {wildcards.variant} --model {input.model}/model.pt --scenes-root {D}/scenes"
        " --ir-sets {wildcards.irset} --out-dir {RESULTS}/scores/{wildcards.variant} --threads {threads} --log {log}"


rule evaluate_mono_mono:
    input: scenes=f"{D}/scenes/test_{{irset}}"
    output: f"{RESULTS}/scores/mono_mono/{{irset}}.csv"
    wildcard_constraints: irset="|".join(IRSETS)
    log: f"{LOGS}/evaluate_mono_mono_{{irset}}.log"
    shell:
        "{CLI} evaluate {OPTS} --scenes-root {D}/scenes --ir-sets {wildcards.irset}"
        " --out-dir {RESULTS}/scores/mono_mono --log {log}"


PER_EAR = list(P["pretrain_audio"]["per_ear_variants"])
PER_EAR_ARGS = " ".join(PER_EAR)


rule evaluate_separation:
    # bss_eval SDR/SIR/SAR: the separation network on test mixtures, and the binaural variants per ear
    input:
        model=f"{MODELS}/pretrain_separation",
        renders=f"{D}/binaural/{HRIR}",
        binaural=expand(f"{MODELS}/{{variant}}", variant=PER_EAR),
    output:
        mono=f"{RESULTS}/separation/mono.csv",
        per_ear=expand(f"{RESULTS}/separation/{{variant}}_per_ear.csv", variant=PER_EAR),
    log: f"{LOGS}/evaluate_separation.log"
    params: digest=digest("pretrain_audio", "scenes", "render")
    shell:
        "{CLI} evaluate-separation {OPTS} --dataset {D} --model {input.model}/model.pt --models-dir {MODELS}"
        " --binaural {PER_EAR_ARGS} --out-dir {RESULTS}/separation --threads 1 --log {log}"


rule audio_costs:
    # parameters and GMACs per second of audio of each audio network, this profile's sizes and the paper's
    output: f"{RESULTS}/audio_costs.csv"
    log: f"{LOGS}/audio_costs.log"
    params: digest=digest("model", "audio")
    shell: "{CLI} audio-costs {OPTS} --out {output} --log {log}"


rule listening_examples:
    input: model=f"{MODELS}/{HEADLINE}", scenes=f"{D}/scenes/test_{HRIR}"
    output: directory(f"{RESULTS}/examples")
    log: f"{LOGS}/examples.log"
    shell: "{CLI} examples {OPTS} --model {input.model}/model.pt --scenes {input.scenes} --out {output} --log {log}"


rule report:
    input:
        scores=expand(f"{RESULTS}/scores/{{entry}}/{{irset}}.csv", irset=IRSETS, entry=VARIANTS + ["mono_mono"]),
        examples=f"{RESULTS}/examples",
        separation=rules.evaluate_separation.output,
        costs=rules.audio_costs.output,
    output:
        page=f"{RESULTS}/README.md",
        metrics=f"{RESULTS}/metrics.json",
        tables=directory(f"{RESULTS}/tables"),
        figures=directory(f"{RESULTS}/figures"),
    log: f"{LOGS}/report.log"
    shell:
        "{CLI} report {OPTS} --scores {input.scores} --examples {input.examples} --separation-scores {input.separation}"
        " --costs {input.costs} --out {RESULTS} --log {log}"
