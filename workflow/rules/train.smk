# Vision pre-training and the paper's training variants (one run per entry of `variants:`).
# Training rules take every core they are given, so they run one at a time on a workstation;
# on a cluster each is its own job with the resources of params.yaml `resources:` (resources.smk).
# A run interrupted mid-way resumes from checkpoints/<profile>/<run>/last.pt when rerun.

rule pretrain_vision:
    input: shapes=f"{D}/shapes", splits=f"{D}/splits", frames=f"{D}/frames"  # performers: orientation pretext
    output:
        model=directory(f"{MODELS}/pretrain_vision"),
        summary=f"{RESULTS}/train/pretrain_vision.json",
        history=f"{RESULTS}/train/pretrain_vision.csv",
    log: f"{LOGS}/pretrain_vision.log"
    threads: training_threads("pretrain")
    resources: **cluster_resources("pretrain")
    params: digest=digest("model", "pretrain", "shapes", "scenes"), checkpoints=f"{CHECKPOINTS}/pretrain_vision"
    shell:
        "{LAUNCH_PRETRAIN} pretrain {OPTS} --shapes {input.shapes} --dataset {D} --out {output.model} --summary {output.summary}"
        " --history {output.history} --checkpoints {params.checkpoints} --threads {threads} --log {log}"


rule pretrain_separation:
    # Audio pre-training (issue 7, not in the paper): the conditioned Demucs separates one performer's mono
    # signal out of a mono mixture, conditioned on that performer's cloud; initializes `init: separation` variants.
    input:
        audio=f"{D}/audio",
        splits=f"{D}/splits",
        frames=f"{D}/frames",
        pretrained=f"{MODELS}/pretrain_vision",
    output:
        model=directory(f"{MODELS}/pretrain_separation"),
        summary=f"{RESULTS}/train/pretrain_separation.json",
        history=f"{RESULTS}/train/pretrain_separation.csv",
    log: f"{LOGS}/pretrain_separation.log"
    threads: training_threads("pretrain")
    resources: **cluster_resources("pretrain")
    params:
        digest=digest("model", "pretrain_audio", "scenes", "render", "train"),
        checkpoints=f"{CHECKPOINTS}/pretrain_separation",
    shell:
        "{CLI} pretrain-separation {OPTS} --dataset {D} --pretrained {input.pretrained}/model.pt --out {output.model}"
        " --summary {output.summary} --history {output.history} --checkpoints {params.checkpoints}"
        " --threads {threads} --log {log}"


rule train_variant:
    input:
        renders=f"{D}/binaural/{HRIR}",
        splits=f"{D}/splits",
        frames=f"{D}/frames",
        pretrained=lambda wc: f"{MODELS}/pretrain_{P['variants'][wc.variant]['init']}",  # the variant's `init`
    output:
        model=directory(f"{MODELS}/{{variant}}"),
        summary=f"{RESULTS}/train/{{variant}}.json",
        history=f"{RESULTS}/train/{{variant}}.csv",
    wildcard_constraints: variant="|".join(VARIANTS)
    log: f"{LOGS}/train_{{variant}}.log"
    threads: training_threads("train")
    resources: **cluster_resources("train")
    params:
        digest=lambda wc: digest("model", "train", "scenes", "render", "hrir") + section_digest(P["variants"], wc.variant),
        checkpoints=lambda wc: f"{CHECKPOINTS}/{wc.variant}",
    shell:
        "{LAUNCH_TRAIN} train {OPTS} --variant {wildcards.variant} --dataset {D} --pretrained {input.pretrained}/model.pt"
        " --out {output.model} --summary {output.summary} --history {output.history}"
        " --checkpoints {params.checkpoints} --threads {threads} --log {log}"


rule train_all:
    input: expand(f"{MODELS}/{{variant}}", variant=VARIANTS)
