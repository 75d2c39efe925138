# Points2Sound: the full reproduction. Each stage kind is one module of the package
# (src/points2sound/pipeline/stages/<kind>.py); workflow/rules/stages.smk makes one rule of each
# stage, and dvc.yaml is rendered from the same declarations (`points2sound dvc-yaml`).
#
#   snakemake --cores 2                                       # default profile (demo, embedded data)
#   snakemake --cores 2 --config profile=tiny                 # another profile of params.yaml
#   snakemake --cores 2 --config 'train={"iterations": 500}'  # a user override: applied after the profile
#   snakemake --report results/demo/report.html               # after a run: figures, tables, listening examples
#
# Precedence: params.yaml's base < profiles.<profile> < overrides: (params.yaml) < --config.

import os
import sys
from pathlib import Path

from snakemake.utils import min_version

from points2sound.config import (
    engine_overrides,
    freeze_run_params,
    read_params_file,
    resolve,
    with_overrides,
)
from points2sound.pipeline.graph import final_outputs, stage_graph
from points2sound.settings import section_digest

min_version("8.0")


configfile: "params.yaml"


report: "workflow/report/workflow.rst"  # `snakemake --report results/<profile>/report.html`


RAW = read_params_file("params.yaml")
OVERRIDES = engine_overrides(config, RAW, given=workflow.config_settings.overwrite_config)
P = resolve(RAW, config.get("profile"), OVERRIDES)  # validated; a bad key stops here with its name
PROFILE = P["profile"]
# The commands read the merged parameters from a content-addressed frozen copy: a dry run with
# other --config values writes another file and never one that a running pipeline reads.
# (An environment variable, not a shell argument: the frozen file's name must not rerun every job.)
FROZEN = freeze_run_params(with_overrides(RAW, OVERRIDES, PROFILE), f"logs/{PROFILE}/params")
# (Set here, never read from the user: so no `envvars:` directive, which would demand it of the user.)
os.environ.update(P2S_PARAMS=str(Path(FROZEN).resolve()))
SHADOW = "minimal" if os.environ.get("P2S_HERMETIC") == "1" else None
GRAPH = stage_graph(P, workflow.basedir)


include: "workflow/rules/resources.smk"
include: "workflow/rules/stages.smk"
include: "workflow/rules/targets.smk"
include: "workflow/rules/costs.smk"


rule all:
    default_target: True
    input:
        final_outputs(GRAPH),
        rules.stage_costs.output,  # Snakemake only: the stages' benchmark files as a table
