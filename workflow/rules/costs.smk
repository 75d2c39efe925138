# Snakemake only: what each stage cost, read from the benchmark files the rules write
# (logs/<profile>/benchmarks/<stage>.tsv: wall and CPU seconds, peak memory), as a table that
# `snakemake --report` shows under "benchmarks". Timing is no artifact: the table lives beside the
# results (results/<profile>/stage_costs.*), the results page and the reproduction check never read
# it, and DVC (which writes no benchmark files) has no such stage.


rule stage_costs:
    input:
        benchmarks=stage_benchmarks(GRAPH),
        code=costs_code(),
    output:
        table=report(
            f"results/{PROFILE}/stage_costs.html",
            caption="../report/stage_costs.rst",
            category="benchmarks",
        ),
        markdown=f"results/{PROFILE}/stage_costs.md",
    log:
        f"logs/{PROFILE}/stage_costs.log",
    shadow:
        SHADOW
    conda:
        "../envs/points2sound.yaml"
    params:
        cli=launcher(None),
    # no benchmark: it only reads a few small files
    shell:
        "{params.cli} stage-costs --benchmarks {input.benchmarks} --out {output.markdown} "
        "--html {output.table} --log-file {log}"
