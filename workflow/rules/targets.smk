# Targets by topic: `snakemake --cores 2 data_half`, `train_all`, `evaluate_all`.


rule data_half:
    input:
        topic_outputs("download", "data", "render", "scenes"),


rule train_all:
    input:
        topic_outputs("train"),


rule evaluate_all:
    input:
        topic_outputs("evaluate"),
