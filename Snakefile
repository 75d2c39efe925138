# Points2Sound: the full reproduction, one rule per stage (rules split by topic in workflow/rules).
#
#   snakemake --cores 2                          # default profile (demo, embedded data)
#   snakemake --cores 2 --config profile=tiny    # another profile from params.yaml
#
# Rules are thin: each calls one `points2sound` command; all logic lives in src/points2sound.

import sys

from points2sound.config import freeze, resolve, section_digest

configfile: "params.yaml"

P = resolve(config, config.get("profile"))  # base + profile overlay, validated against the schema
PROFILE = P["profile"]
D = f"data/{PROFILE}"                       # everything of one profile: the data contract's data/<dataset>
LOGS = f"logs/{PROFILE}"
# The CLI reads the merged config (params.yaml + --config/--configfile overrides), frozen here.
PARAMS = freeze(config, f"{LOGS}/params.snakemake.yaml")
CLI = f"{sys.executable} -m points2sound"
OPTS = f"--params {PARAMS} --profile {PROFILE}"
HRIR = P["hrir"]["name"]
ROOMS = list(P["rooms"]["sets"])
VARIANTS = list(P["variants"])
MODELS = f"models/{PROFILE}"                # trained weights (DVC-tracked, ignored by git)
RESULTS = f"results/{PROFILE}"              # small human-readable outputs: scores, tables, figures, report
CHECKPOINTS = f"checkpoints/{PROFILE}"      # resume state of training runs (not an output)


def digest(*sections):
    """Rerun a rule when the parameter sections it reads change (snakemake's params trigger)."""
    return section_digest(P, "profile", "seed", *sections)


include: "workflow/rules/resources.smk"  # cluster requests and launchers of the training rules
include: "workflow/rules/data.smk"
include: "workflow/rules/render.smk"
include: "workflow/rules/scenes.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
if P["dataset"]["source"] == "real":
    include: "workflow/rules/download.smk"  # real sources: download, verify, convert


rule all:
    default_target: True
    input:
        rules.report.output,
