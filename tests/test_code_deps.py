"""A stage depends on the code it runs and on nothing else: an edit reruns exactly what it can change.

Read from the engines themselves, in a copy of the project at the demo profile: Snakemake's dry run
over a completed run (every output present and newer than its inputs; the files are stand-ins,
since only their times matter to this check) and `dvc status` against the committed dvc.lock.
Each check also runs the stage commands and compares the package modules they load with the
code dependencies the graph declares.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from points2sound.config import read_params_file, resolve
from points2sound.pipeline.graph import stage_graph
from project_copy import ROOT, TOOL_ENV, copy_project, run_tool

BIN = Path(sys.executable).parent
DATA_TOPICS = {"download", "data", "render", "scenes"}
SNAKEMAKE_ONLY = {"stage_costs", "all"}  # the benchmark table (reads every rule's benchmark file), the target


def _touch(path: Path, t: float) -> None:
    os.utime(path, (t, t))


def _fake_completed_run(project: Path, stages) -> None:
    """Every output of the graph present, each newer than the code and than what it reads."""
    t0 = 1_700_000_000.0
    for f in project.rglob("*"):
        _touch(f, t0)
    for i, stage in enumerate(stages, start=1):
        t = t0 + 100 * i
        for out in [*stage.outs.values()]:
            path = project / out.path
            if out.directory:
                path.mkdir(parents=True, exist_ok=True)
                (path / "stand_in").write_text("x")
                _touch(path / "stand_in", t)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("x")
            _touch(path, t)
        bench = project / stage.benchmark
        bench.parent.mkdir(parents=True, exist_ok=True)
        bench.write_text("s\tmax_rss\tcpu_time\n0\t0\t0\n")
        _touch(bench, t)
    end = t0 + 100 * (len(stages) + 1)
    for name in ("stage_costs.html", "stage_costs.md"):
        path = project / "results" / "demo" / name
        path.write_text("x")
        _touch(path, end)


def _snakemake_jobs(project: Path) -> set[str]:
    cmd = [str(BIN / "snakemake"), "-n", "--rerun-triggers", "mtime", "--cores", "2"]
    proc = subprocess.run(cmd, cwd=project, env=TOOL_ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return set(re.findall(r"^(?:local)?rule (\w+):$", proc.stdout, flags=re.M))


def _modified_in(status: dict, rel: str) -> set[str]:
    """Stages for which a `dvc status --json` reports the file `rel` modified against dvc.lock (the data
    are absent in the copy and reported too: only `rel` counts here)."""
    return {
        name
        for name, changes in status.items()
        for change in changes
        if isinstance(change, dict) and change.get("changed deps", {}).get(rel) == "modified"
    }


def _dvc_changed(project: Path, rel: str) -> set[str]:
    return _modified_in(json.loads(run_tool([str(BIN / "dvc"), "status", "--json"], project).stdout or "{}"), rel)


def _downstream(stages, names: set[str]) -> set[str]:
    """`names` and every stage that reads, transitively, what they write."""
    marked, grew = set(names), True
    while grew:
        outs = [o.path for s in stages if s.name in marked for o in s.outs.values()]
        grew = False
        for s in stages:
            if s.name not in marked and any(
                d == o or d.startswith(o + "/") or o.startswith(d + "/") for d in s.dep_paths() for o in outs
            ):
                marked.add(s.name)
                grew = True
    return marked


@pytest.fixture(scope="module")
def demo_copy(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("codedeps") / "p", "demo", files=(
        "Snakefile", "dvc.yaml", "dvc.lock", "params.yaml", "workflow", "src", "results/benchmarks", ".dvcignore"
    ))  # fmt: skip
    run_tool([str(BIN / "dvc"), "init", "--no-scm", "-q", "-f"], project)
    # the lock's code hashes made current in the copy (tools/relock_code.py), so an edit is all that differs
    run_tool([sys.executable, str(ROOT / "tools" / "relock_code.py"), "--root", str(project), "--lenient"], project)
    stages = stage_graph(resolve(read_params_file(project / "params.yaml")), project)
    _fake_completed_run(project, stages)
    assert _snakemake_jobs(project) == set(), "the stand-in run is not complete"
    return project, stages


EDITS = {  # name -> (file, text replaced or None to append, new text)
    "binauralize help": ("src/points2sound/cli/user.py", 'help="a merged scene', 'help="(edited) a merged scene'),
    "report tables": ("src/points2sound/report/tables.py", None, "\n# edited\n"),
    "FOA metrics": ("src/points2sound/evaluate/foa_metrics.py", None, "\n# edited\n"),
    "sparse ResNet": ("src/points2sound/models/vision.py", None, "\n# edited\n"),
}


def _edited(project: Path, rel: str, old: str | None, new: str):
    """Apply one edit (newer than every output); returns the function that undoes it, times included."""
    path = project / rel
    text, stat = path.read_text(), path.stat()
    assert old is None or old in text, f"{rel} no longer holds {old!r}"
    path.write_text(text.replace(old, new, 1) if old is not None else text + new)
    _touch(path, 1_800_000_000.0)

    def undo() -> None:
        path.write_text(text)
        os.utime(path, (stat.st_atime, stat.st_mtime))

    return undo


@pytest.fixture(scope="module")
def reruns(demo_copy) -> dict[str, tuple[set[str], set[str]]]:
    """Per edit: the jobs Snakemake plans after it alone, and the stages `dvc status` finds it modified in
    (one status for all four edits: it names the modified file of each stage)."""
    project, _ = demo_copy
    assert not any(_dvc_changed(project, rel) for rel, _, _ in EDITS.values()), "dvc.lock differs before the edits"
    snakemake = {}
    for name, (rel, old, new) in EDITS.items():
        undo = _edited(project, rel, old, new)
        try:
            snakemake[name] = _snakemake_jobs(project)
        finally:
            undo()
    undos = [_edited(project, rel, old, new) for rel, old, new in EDITS.values()]
    try:
        status = json.loads(run_tool([str(BIN / "dvc"), "status", "--json"], project).stdout or "{}")
    finally:
        for undo in undos:
            undo()
    return {name: (snakemake[name], _modified_in(status, rel)) for name, (rel, _, _) in EDITS.items()}


def test_an_edit_to_binauralize_help_reruns_no_stage(reruns):
    snakemake, dvc = reruns["binauralize help"]
    assert snakemake == set() and dvc == set()


def test_an_edit_to_the_report_tables_reruns_only_the_report(reruns):
    snakemake, dvc = reruns["report tables"]
    assert dvc == {"report"}
    assert snakemake == {"report", *SNAKEMAKE_ONLY}


def test_an_edit_to_the_foa_metrics_reruns_the_foa_scores_and_what_reads_them(reruns, demo_copy):
    snakemake, dvc = reruns["FOA metrics"]
    foa = {s.name for s in demo_copy[1] if s.name.startswith("evaluate_foa_")}
    assert foa and foa <= dvc <= foa | {"report"}
    assert snakemake == foa | {"report", *SNAKEMAKE_ONLY}


def test_an_edit_to_the_sparse_resnet_reruns_the_trainings_and_downstream_only(reruns, demo_copy):
    snakemake, dvc = reruns["sparse ResNet"]
    stages = demo_copy[1]
    sparse3d = {"pretrain_vision", "pretrain_separation", "train_p2s_rgb", "train_p2s_depth"}
    assert sparse3d <= dvc
    assert snakemake == _downstream(stages, dvc) | SNAKEMAKE_ONLY
    untouched = {s.name for s in stages if s.topic in DATA_TOPICS or s.name.startswith("evaluate_mono_mono_")}
    assert untouched and not snakemake & untouched


def test_no_stage_depends_on_the_user_commands():
    """Only the console script's dispatch (cli/__init__.py) is shared with the user's commands."""
    raw = read_params_file(ROOT / "params.yaml")
    for profile in ("tiny", "demo", "gpu", "paper"):
        for stage in stage_graph(resolve(raw, profile), ROOT):
            cli = [c for c in stage.code if "/cli/" in c]
            assert cli == ["src/points2sound/cli/__init__.py"], (profile, stage.name, cli)
            if stage.name.startswith("evaluate_mono_mono_"):  # the copy baseline runs no network
                assert not [c for c in stage.code if re.search(r"/(models|train|sparse|vision2d)/", c)], stage.code


LOADED = """
import json, sys
from points2sound.cli import main
code = main(sys.argv[2:])
json.dump({"code": code, "modules": sorted(m for m in sys.modules if m.split(".")[0] == "points2sound")},
          open(sys.argv[1], "w"))
"""


def test_stage_commands_load_only_their_declared_code(tiny_data, tmp_path):
    """The declared code of a stage is all the package code its command loads (read off the imports,
    so a dynamic import the reading misses would show here)."""
    from points2sound.pipeline.codedeps import CORE_FILES, code_paths, module_file

    d, hrir = "data/tiny", "sphere_1m"
    runs = {
        "pipeline.stages.make_hrir": ["make-hrir", "--out", str(tmp_path / "h.sofa")],
        "pipeline.stages.test_scenes": ["scenes", "--dataset", d, "--ir-set", hrir, "--out", str(tmp_path / "s")],
        "pipeline.stages.evaluate_mono_mono": [
            "evaluate-mono-mono", "--scenes-root", f"{d}/scenes", "--ir-sets", hrir, "--out-dir", str(tmp_path / "m")
        ],
        "pipeline.stages.embed_shapes": ["embed-shapes", "--out", str(tmp_path / "shapes")],
    }  # fmt: skip
    for module, argv in runs.items():
        out = tmp_path / "loaded.json"
        subprocess.run(
            [sys.executable, "-c", LOADED, str(out), argv[0], "--params", "params.yaml", *argv[1:]],
            cwd=tiny_data,
            env={**os.environ, "PYTHONHASHSEED": "0"},
            check=True,
            capture_output=True,
            timeout=600,
        )
        record = json.loads(out.read_text())
        assert record["code"] == 0, module
        declared = {ROOT / p for p in code_paths(module)}
        loaded = {module_file(m) for m in record["modules"]}
        undeclared = sorted(
            str(f.relative_to(ROOT)) for f in loaded if not any(f == p or p in f.parents for p in declared)
        )
        assert not undeclared, (module, undeclared)
        assert str(ROOT / "src/points2sound" / CORE_FILES[1]) in {str(p) for p in declared}
