# One rule per stage of the stage graph (src/points2sound/pipeline/graph.py), the same stages as dvc.yaml.
# Each rule runs one `points2sound` command with explicit paths; its inputs are the data it reads
# and the source files it runs (code changes rerun it), its `digest` param the parameter keys it
# reads. Each stage kind (pipeline/stages/<kind>.py) names its topic (data, render, scenes, train,
# evaluate, report); targets.smk has a target rule per topic.
#
# Outputs that `snakemake --report` shows carry their category and caption in the graph (Out.report,
# captions under workflow/report/); every rule writes a benchmark file (wall, CPU time, peak memory)
# that costs.smk turns into the report's stage-cost table. The software is the one environment of
# the project (workflow/envs/points2sound.yaml is environment.yml; see the comment there).
#
# P2S_HERMETIC=1 runs every job in a shadow folder that holds only its declared inputs
# (shadow: "minimal"): an undeclared read fails (tests/test_workflow.py).


for stage in GRAPH:

    rule:
        name:
            stage.name
        input:
            **stage_inputs(stage),
        output:
            **stage_outputs(stage),
        log:
            log=stage.log,
            run=stage.run_record,
        benchmark:
            stage.benchmark
        shadow:
            SHADOW
        conda:
            "../envs/points2sound.yaml"
        threads: stage_threads(stage)
        resources:
            **stage_resources(stage),
        params:
            digest=stage_digest(stage),
            command=stage_shell(stage),  # evaluated here: a shell directive would see the loop's last stage
        shell:
            "{params.command}"
