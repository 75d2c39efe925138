"""One stage graph for both engines: Snakemake's plan and DVC's stages agree for every profile.

Both are read from the engines themselves (a Snakemake dry run of every job, DVC's own parser
of the rendered dvc.yaml), in a copy of the project set to each profile; `paper` needs no data.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from points2sound.config import read_params_file, resolve
from points2sound.pipeline.codedeps import expand
from points2sound.pipeline.dvc_yaml import render
from project_copy import ROOT, copy_project

BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
TARGETS = {"all", "data_half", "train_all", "evaluate_all"}  # aggregate rules: no command, not stages
SNAKEMAKE_ONLY = {"stage_costs"}  # reads the benchmark files only Snakemake writes (workflow/rules/costs.smk)
LAUNCHER = re.compile(r"^\S*python\S* -m points2sound ")


def _snakemake_plan(project: Path, *config: str) -> dict[str, dict]:
    """Every job of a forced dry run: its rule, command (launcher stripped), inputs and outputs."""
    cmd = [str(BIN / "snakemake"), "-n", "-p", "--forceall", "--cores", "2"] + (["--config", *config] if config else [])
    proc = subprocess.run(cmd, cwd=project, env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    jobs: dict[str, dict] = {}
    current: dict | None = None
    for line in proc.stdout.splitlines():
        head = re.match(r"^(?:local)?rule (\w+):$", line)
        if head:
            current = jobs.setdefault(head.group(1), {"inputs": set(), "outputs": set(), "command": None})
        elif current is not None and line.startswith("    input: "):
            current["inputs"] = set(line[len("    input: ") :].split(", "))
        elif current is not None and line.startswith("    output: "):
            current["outputs"] = set(line[len("    output: ") :].split(", "))
        elif current is not None and line.startswith("Shell command: "):
            current["command"] = LAUNCHER.sub("", line[len("Shell command: ") :])
            current = None
    return {k: v for k, v in jobs.items() if k not in TARGETS | SNAKEMAKE_ONLY}


def _dvc_stages(project: Path) -> dict[str, dict]:
    """DVC's own reading of the project's dvc.yaml: command, data and code deps, outputs."""
    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo

    subprocess.run([str(BIN / "dvc"), "init", "--no-scm", "-q", "-f"], cwd=project, env=ENV, check=True)
    out = {}
    with Repo(str(project)) as repo:
        for stage in repo.index.stages:
            deps = [d.def_path for d in stage.deps if not isinstance(d, ParamsDependency)]
            out[stage.name] = {
                "command": stage.cmd.removeprefix("points2sound "),
                "inputs": set(expand(deps, project)),
                "outputs": {o.def_path for o in stage.outs},
            }
    return out


@pytest.mark.parametrize("profile", ["tiny", "demo", "gpu", "paper"])
def test_engines_plan_the_same_stages(tmp_path, profile):
    project = copy_project(tmp_path / "p", profile)
    snakemake, dvc = _snakemake_plan(project), _dvc_stages(project)
    assert sorted(snakemake) == sorted(dvc)
    for name in dvc:
        for key in ("command", "inputs", "outputs"):
            assert snakemake[name][key] == dvc[name][key], f"{profile}: {name}: {key} differ"


def test_paper_profile_resolves_its_overlay(tmp_path):
    """DVC plans the paper's KEMAR set and four room sets, as the CLI resolves them."""
    project = copy_project(tmp_path / "p", "paper")
    stages = _dvc_stages(project)
    assert "fetch_kemar" in stages and "make_hrir" not in stages
    rooms = {n.removeprefix("render_room_") for n in stages if n.startswith("render_room_")}
    assert rooms == {"calypso", "spirit", "calypso_sim", "spirit_sim"}
    assert "data/paper/ir/QU_KEMAR_anechoic_1m.sofa" in stages["render_hrir"]["inputs"]
    splits = resolve(read_params_file(project / "params.yaml"))["render"]["room_splits"]
    assert f"--splits {','.join(splits)}" in stages["render_room_calypso"]["command"]


def test_committed_dvc_yaml_is_current():
    raw = read_params_file(ROOT / "params.yaml")
    assert (ROOT / "dvc.yaml").read_text() == render(raw, resolve(raw), ROOT), "run `points2sound dvc-yaml`"


def test_a_stale_dvc_yaml_does_not_run_under_dvc(tmp_path):
    project = copy_project(tmp_path / "p", "tiny")
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("profile: tiny", "profile: demo", 1))  # switched by hand
    proc = subprocess.run(
        [sys.executable, "-m", "points2sound", "make-hrir", "--profile", "tiny", "--out", "x.sofa"],
        cwd=project,
        env={**ENV, "DVC_STAGE": "make_hrir", "DVC_ROOT": str(project)},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "dvc.yaml" in proc.stderr and "points2sound dvc-yaml" in proc.stderr
    assert not (project / "x.sofa").exists()


def test_dvc_yaml_command_switches_profile(tmp_path):
    project = copy_project(tmp_path / "p", "tiny")
    subprocess.run(
        [sys.executable, "-m", "points2sound", "dvc-yaml", "--profile", "demo"],
        cwd=project,
        env=ENV,
        check=True,
        capture_output=True,
    )
    assert yaml.safe_load((project / "params.yaml").read_text())["profile"] == "demo"
    assert "--profile demo" in (project / "dvc.yaml").read_text()
    check = subprocess.run(
        [sys.executable, "-m", "points2sound", "dvc-yaml", "--check"],
        cwd=project,
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr


def test_every_stage_depends_on_the_code_it_runs():
    """The code paths come from the imports: the training stage runs the training loop and the model files."""
    from points2sound.pipeline.graph import stage_graph

    stages = {s.name: s for s in stage_graph(resolve(read_params_file(ROOT / "params.yaml"), "tiny"), ROOT)}
    train = set(expand(list(stages["train_p2s_rgb"].code), ROOT))
    for path in (
        "src/points2sound/train/loop.py",
        "src/points2sound/models/demucs.py",
        "src/points2sound/data/scenes/__init__.py",
        "src/points2sound/cli/__init__.py",
    ):
        assert path in train
    assert "src/points2sound/render/room.py" not in set(expand(list(stages["embed_audio"].code), ROOT))
    assert "src/points2sound/render/room.py" in set(expand(list(stages["make_brir_calypso_sim"].code), ROOT))
    report = set(expand(list(stages["report"].code), ROOT))
    assert {"src/points2sound/report/run.py", "src/points2sound/settings/report.py"} <= report


def test_a_seed_spread_file_is_a_declared_input_of_the_report():
    """report.seed_spread (a committed benchmark output) reaches the report's command and its inputs."""
    from points2sound.pipeline.graph import stage_graph

    raw = read_params_file(ROOT / "params.yaml")
    plain = {s.name: s for s in stage_graph(resolve(raw, "tiny"), ROOT)}["report"]
    assert "--seed-spread" not in plain.args and "seed_spread" not in plain.deps
    spread = "results/benchmarks/seed_spread_tiny.json"
    report = {s.name: s for s in stage_graph(resolve(raw, "tiny", {"report": {"seed_spread": spread}}), ROOT)}["report"]
    assert report.deps["seed_spread"] == spread
    assert report.args[report.args.index("--seed-spread") + 1] == spread


def test_report_outputs_have_a_category_and_a_caption():
    """What `snakemake --report` shows is declared in the graph; DVC's dvc.yaml is the same without it."""
    from points2sound.pipeline.declare import REPORT_CATEGORIES
    from points2sound.pipeline.graph import stage_graph

    stages = stage_graph(resolve(read_params_file(ROOT / "params.yaml"), "tiny"), ROOT)
    shown = {(s.name, k): o.report for s in stages for k, o in s.outs.items() if o.report is not None}
    for (_, _), r in shown.items():
        assert r.category in REPORT_CATEGORIES
        assert (ROOT / "workflow" / "report" / r.caption).is_file(), r.caption
    categories = {r.category for r in shown.values()}
    assert categories | {"benchmarks"} == set(REPORT_CATEGORIES)  # benchmarks: also costs.smk's stage_costs
    assert shown[("listening_examples", "examples")].patterns == ("{example}.html",)
    assert shown[("report", "figures")].patterns and shown[("report", "tables")].patterns
    assert all(shown[(s.name, "history")].category == "training" for s in stages if "history" in s.outs)
    assert (ROOT / "workflow" / "report" / "stage_costs.rst").is_file()


def test_an_foa_variant_is_scored_as_a_field_and_reaches_the_report():
    from points2sound.pipeline.graph import stage_graph

    stages = {s.name: s for s in stage_graph(resolve(read_params_file(ROOT / "params.yaml"), "demo"), ROOT)}
    foa = stages["evaluate_foa_p2s_foa"]
    assert "models/demo/p2s_foa" in foa.dep_paths() and "data/demo/ir/sphere_1m.sofa" in foa.dep_paths()
    assert not [n for n in stages if n.startswith("evaluate_p2s_foa_")]  # not scored as a binaural model
    assert {o.path for o in foa.outs.values()} <= set(stages["report"].dep_paths())


def test_a_2d_variant_adds_its_pretraining_and_reaches_the_report():
    from points2sound.pipeline.graph import stage_graph

    raw = read_params_file(ROOT / "params.yaml")
    stages = {s.name: s for s in stage_graph(resolve(raw, "demo"), ROOT)}
    pre, train = stages["pretrain_vision_2d"], stages["train_p2s_2d"]
    assert "models/demo/pretrain_vision_2d" in train.dep_paths()
    assert "models/demo/pretrain_vision" not in train.dep_paths()  # not the 3D net's pre-training
    assert "evaluate_p2s_2d_sphere_1m" in stages and "evaluate_p2s_2d_calypso_sim" in stages
    summaries = {pre.outs["metrics"].path, stages["pretrain_vision"].outs["metrics"].path}
    assert summaries <= set(stages["report"].dep_paths())
    paper = {s.name for s in stage_graph(resolve(raw, "paper"), ROOT)}
    assert not {"pretrain_vision_2d", "train_p2s_2d"} & paper  # the paper's recipe has no scene pretext
