"""Training runs on the tiny profile: exact resume, checkpoints, pre-training, batch plans, evaluation.

The runs call the stage functions in-process (the CLI is a thin wrapper over them;
test_workflow runs the CLI through both engines).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from points2sound.config import load_params
from points2sound.data.scenes import load_materialized_scene, read_scene_specs
from points2sound.errors import InputFileError, ParameterError, RunStopped
from points2sound.evaluate.metrics import binaural_scores
from points2sound.evaluate.run import binauralize_scene
from points2sound.models.checkpoint import load_checkpoint, save_checkpoint
from points2sound.models.loading import load_system
from points2sound.pipeline.stages import evaluate as evaluate_stage
from points2sound.pipeline.stages import evaluate_mono_mono, pretrain_vision
from points2sound.pipeline.stages import train as train_stage
from points2sound.settings.train import system_config
from points2sound.train.data import BatchPlan

HRIR = "sphere_1m"
# log_every 2: a run stopped after 3 iterations stops between two logged rows (its history must still match)
TRAIN = dict(iterations=4, val_every=2, batch_size=2, micro_batch_size=1, device="cpu", log_every=2)


@pytest.fixture(scope="module")
def params_file(tiny_data, tmp_path_factory) -> Path:
    """The tiny profile with TRAIN overlaid, as a file: the CLI runs below read the same parameters."""
    raw = yaml.safe_load((tiny_data / "params.yaml").read_text())
    raw["profiles"]["tiny"]["train"].update(TRAIN)
    path = tmp_path_factory.mktemp("params") / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def params(params_file) -> dict:
    torch.set_num_threads(1)
    return load_params(params_file, "tiny")


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _artifacts(out: Path) -> dict[str, str]:
    """The hashes of a training run's artifacts (what DVC and Snakemake see): the model and the dvclive folder."""
    files = [out / "model/model.pt", *sorted((out / "live").rglob("*"))]
    return {str(p.relative_to(out)): _sha256(p) for p in files if p.is_file()}


def _summary(out: Path) -> dict:
    """The run's summary: dvclive's metrics.json."""
    return json.loads((out / "live/metrics.json").read_text())


def _history(out: Path) -> pd.DataFrame:
    """The dvclive TSVs as one table (a column per metric, a row per logged iteration), as the CSV log was."""
    tables = [pd.read_csv(p, sep="\t").set_index("step") for p in sorted((out / "live/plots/metrics").glob("*.tsv"))]
    return pd.concat(tables, axis=1).sort_index().rename_axis("iteration").reset_index()


@pytest.fixture(scope="module")
def pretrained(tiny_data, params, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pre")
    pretrain_vision.run(params, tiny_data / "data/tiny/shapes", out / "model", out / "live", out / "ckpt", threads=1)
    return out


def _train(params, tiny_data, pretrained, out: Path, variant: str = "p2s_rgb", stop_after=None) -> Path:
    train_stage.run(
        params,
        variant,
        tiny_data / "data/tiny",
        pretrained / "model/model.pt",
        out / "model",
        out / "live",
        out / "ckpt",
        threads=1,
        stop_after=stop_after,
    )
    return out / "model/model.pt"


def test_pretraining_writes_checkpoint_and_test_accuracy(pretrained):
    summary = _summary(pretrained)
    assert 0.0 <= summary["test_accuracy"] <= 1.0
    assert summary["chance_accuracy"] == pytest.approx(1 / 4)
    history = _history(pretrained)
    assert {"train_loss", "val_loss", "val_accuracy"} <= set(history.columns)
    blob = load_checkpoint(pretrained / "model/model.pt", "pretrain_vision")
    assert any(k.startswith("layer4.") for k in blob["model"])


@pytest.fixture(scope="module")
def uninterrupted(params, tiny_data, pretrained, tmp_path_factory) -> Path:
    return _train(params, tiny_data, pretrained, tmp_path_factory.mktemp("full"))


def test_resumed_run_ends_with_the_same_weights(params, tiny_data, pretrained, uninterrupted, tmp_path):
    with pytest.raises(RunStopped):
        _train(params, tiny_data, pretrained, tmp_path, stop_after=3)
    assert not (tmp_path / "model").exists(), "a stopped run must not leave a final model"
    assert (tmp_path / "ckpt/last.pt").is_file()
    resumed = _train(params, tiny_data, pretrained, tmp_path)
    a = torch.load(uninterrupted, weights_only=True)["model"]
    b = torch.load(resumed, weights_only=True)["model"]
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"{key} differs after resume"
    # and every artifact is byte-identical: no timing or machine facts in them, rows as if uninterrupted
    assert _artifacts(tmp_path) == _artifacts(uninterrupted.parent.parent)


def test_a_resumed_run_logs_each_step_once(params, tiny_data, pretrained, uninterrupted, tmp_path):
    """The dvclive files of a stopped and resumed run are the uninterrupted run's, even when the run was
    killed after logging a row its last checkpoint does not hold (a kill -9 between the two)."""
    with pytest.raises(RunStopped):
        _train(params, tiny_data, pretrained, tmp_path, stop_after=3)
    tsv = tmp_path / "live/plots/metrics/train_loss.tsv"
    assert pd.read_csv(tsv, sep="\t")["step"].tolist() == [2]
    with open(tsv, "a") as f:  # what a run killed after logging iteration 4, before its checkpoint, leaves
        f.write("4\t0.5\n")
    _train(params, tiny_data, pretrained, tmp_path)
    assert _artifacts(tmp_path) == _artifacts(uninterrupted.parent.parent)
    tsvs = sorted((tmp_path / "live/plots/metrics").glob("*.tsv"))
    assert {p.stem for p in tsvs} == {"train_loss", "val_loss", "val_l1", "val_l1_mono_copy", "val_l1_rotated"}
    for path in tsvs:
        table = pd.read_csv(path, sep="\t")
        assert list(table.columns) == ["step", path.stem], "a timestamp column (or another) in a TSV"
        assert table["step"].tolist() == [2, 4], f"{path.name}: each logged step once"
    assert _summary(tmp_path)["step"] == 4
    assert sorted(p.name for p in (tmp_path / "live").iterdir()) == ["metrics.json", "plots"], "no dvc.yaml of its own"


def test_dvclive_writes_only_its_files(tmp_path, monkeypatch):
    """In a git repository without DVC, dvclive would `dvc init` it: the logger opens no repository, writes no
    dvc.yaml and makes no experiment, and logs only the fit of the kind its stage opened it for."""
    from points2sound.train.live import logger_for, recording

    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    with recording(tmp_path / "live", "fit_a") as live:
        assert logger_for("fit_a") is live and logger_for("fit_b") is None and logger_for("fit_a", False) is None
        live.begin([{"iteration": 2, "train_loss": 0.5, "val_loss": 0.25}])
        live.log({"iteration": 4, "train_loss": 0.375})
        live.finish({"best_val_loss": 0.25, "variant": "v"}, 4)
    assert logger_for("fit_a") is None
    assert json.loads((tmp_path / "live/metrics.json").read_text()) == {
        "best_val_loss": 0.25,
        "variant": "v",
        "step": 4,
    }
    assert (tmp_path / "live/plots/metrics/train_loss.tsv").read_text() == "step\ttrain_loss\n2\t0.5\n4\t0.375\n"
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if ".git" not in p.parts) == [
        "live",
        "live/metrics.json",
        "live/plots",
        "live/plots/metrics",
        "live/plots/metrics/train_loss.tsv",
        "live/plots/metrics/val_loss.tsv",
    ]


def test_resumed_pretraining_gives_the_same_bytes(params, tiny_data, pretrained, tmp_path):
    args = (params, tiny_data / "data/tiny/shapes", tmp_path / "model", tmp_path / "live", tmp_path / "ckpt")
    with pytest.raises(RunStopped):
        pretrain_vision.run(*args, threads=1, stop_after=3)
    pretrain_vision.run(*args, threads=1)
    assert _artifacts(tmp_path) == _artifacts(pretrained)


def _cli(*args: str | Path, ok: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "points2sound", *map(str, args)], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == ok, f"{args[0]} -> {proc.returncode}:\n{proc.stderr[-3000:]}"
    return proc


def test_cli_resume_in_another_process_gives_the_same_bytes_and_a_run_record(
    params_file, tiny_data, pretrained, uninterrupted, tmp_path
):
    """Stopped by one process, resumed by another (as a rerun of the rule would): the artifacts are the
    uninterrupted run's bytes, and the timing and machine facts are in the run record beside the log."""
    out, log_file = tmp_path / "run", tmp_path / "logs/train_p2s_rgb.log"
    args = [
        "train",
        "--params",
        params_file,
        "--variant",
        "p2s_rgb",
        "--dataset",
        tiny_data / "data/tiny",
        "--pretrained",
        pretrained / "model/model.pt",
        "--out",
        out / "model",
        "--live",
        out / "live",
        "--checkpoints",
        out / "ckpt",
        "--threads",
        "1",
        "--log",
        log_file,
    ]
    record = tmp_path / "logs/train_p2s_rgb.run.json"
    _cli(*args, "--stop-after", "3", ok=3)
    assert log_file.is_file() and not record.exists(), "a stopped run is not a successful command: no record"
    import shutil

    shutil.rmtree(out / "live")  # the engines remove a failed job's outputs: the logger resumes from the checkpoint
    _cli(*args)
    assert _artifacts(out) == _artifacts(uninterrupted.parent.parent)
    rec = json.loads(record.read_text())
    assert rec["command"] == "train" and rec["argv"][0] == "train" and "--log" in rec["argv"]
    assert rec["profile"] == "tiny"
    for key in ("wall_seconds", "cpu_seconds", "peak_rss_mb", "train_seconds", "iterations_per_s", "peak_memory_mb"):
        assert isinstance(rec[key], float) and rec[key] >= 0, key
    assert rec["wall_seconds"] > 0 and rec["cpu_seconds"] > 0 and rec["peak_rss_mb"] > 10
    assert rec["resumed_from"] == 3 and rec["iterations_run"] == 1
    assert rec["device"] == "cpu" and rec["world_size"] == 1
    machine = rec["machine"]
    assert machine["cpu_count"] == os.cpu_count() and machine["cpu_model"]
    assert isinstance(machine["cpu_flags"], list)
    assert machine["torch_threads"] == 1, "the thread count the run used"
    assert machine["thread_env"]["OMP_NUM_THREADS"] == "1"
    versions = machine["versions"]
    assert versions["torch"] == torch.__version__.split("+")[0] or versions["torch"] == torch.__version__
    assert versions["numpy"] == np.__version__ and versions["python"] == ".".join(map(str, sys.version_info[:3]))


def test_same_seed_gives_the_same_weights(params, tiny_data, pretrained, uninterrupted, tmp_path):
    again = _train(params, tiny_data, pretrained, tmp_path)
    a = torch.load(uninterrupted, weights_only=True)["model"]
    b = torch.load(again, weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _artifacts(tmp_path) == _artifacts(uninterrupted.parent.parent)


def test_training_changes_the_weights_and_logs(uninterrupted, params):
    blob = torch.load(uninterrupted, weights_only=True)
    summary = _summary(uninterrupted.parent.parent)
    for key in ("val_l1", "val_l1_rotated", "val_l1_mono_copy", "parameters"):
        assert np.isfinite(summary[key])
    assert summary["iterations"] == 4 and summary["step"] == 4
    history = _history(uninterrupted.parent.parent)
    assert list(history.dropna(subset=["val_loss"])["iteration"]) == [2, 4]
    assert list(history.dropna(subset=["train_loss"])["iteration"]) == [2, 4]  # log_every 2
    timing = {"train_seconds", "iterations_per_s", "peak_memory_mb", "seconds", "device", "world_size"}
    assert not timing & (set(summary) | set(history.columns) | set(blob["summary"])), "run facts in an artifact"
    fresh = stages_system(params)
    moved = [k for k, v in fresh.state_dict().items() if v.is_floating_point() and not torch.equal(v, blob["model"][k])]
    assert moved, "training left every weight at its initial value"


def stages_system(params):
    from points2sound.models.loading import build_from_config

    return build_from_config(system_config(params, "p2s_rgb"))


def test_checkpoints_load_weights_only_and_refuse_other_configs(uninterrupted, params, tmp_path):
    torch.load(uninterrupted, weights_only=True)
    system, blob = load_system(uninterrupted, system_config(params, "p2s_rgb"))
    assert blob["config"]["variant"] == "p2s_rgb"
    with pytest.raises(ParameterError, match="another configuration"):
        load_system(uninterrupted, system_config(params, "p2s_diff"))
    with pytest.raises(ParameterError, match="pretrain_vision"):
        load_checkpoint(uninterrupted, "pretrain_vision")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(InputFileError, match="bad.pt"):
        load_checkpoint(bad, "binauralizer")


def test_every_variant_builds_and_steps(params, tiny_data, pretrained, tmp_path):
    for variant in ("p2s_diff", "m2b_depth"):
        params_one = {**params, "train": {**params["train"], "iterations": 1, "val_every": 1}}
        model = _train(params_one, tiny_data, pretrained, tmp_path / variant, variant=variant)
        system, blob = load_system(model)
        scenes = tiny_data / f"data/tiny/scenes/test_{HRIR}"
        scene = load_materialized_scene(scenes / f"{read_scene_specs(scenes / 'scenes.csv')[0].scene_id}.npz")
        est = binauralize_scene(system, scene, blob["config"], torch.device("cpu"))
        assert est.shape == scene["binaural"].shape and np.all(np.isfinite(est))


def test_evaluation_scores_what_the_model_outputs(params, tiny_data, uninterrupted, tmp_path):
    evaluate_stage.run(params, "p2s_rgb", uninterrupted, tiny_data / "data/tiny/scenes", HRIR, tmp_path, threads=1)
    scores = pd.read_csv(tmp_path / f"{HRIR}.csv")
    assert set(scores["method"]) == {"points2sound", "rotated_visual"}
    scenes = tiny_data / f"data/tiny/scenes/test_{HRIR}"
    first = scores[scores["method"] == "points2sound"].iloc[0]
    scene = load_materialized_scene(scenes / f"{first['scene_id']}.npz")
    system, blob = load_system(uninterrupted)
    est = binauralize_scene(system, scene, blob["config"], torch.device("cpu"))
    expected = binaural_scores(est, scene["binaural"], params["audio"]["sample_rate"])
    assert first["d_stft"] == pytest.approx(expected["d_stft"], rel=1e-6)
    assert first["n_sources"] == scene["spec"].n_sources


def test_mono_mono_scores_every_mono_input(params, tiny_data, tmp_path):
    evaluate_mono_mono.run(params, tiny_data / "data/tiny/scenes", HRIR, tmp_path)
    scores = pd.read_csv(tmp_path / f"{HRIR}.csv")
    assert sorted(set(scores["mono_input"])) == ["left", "sum_lr", "true_mono"]
    assert len(scores) == 3 * params["scenes"]["test"]["count"]


def test_unknown_variant_and_bad_ir_set_are_named(params, tiny_data, tmp_path):
    with pytest.raises(ParameterError, match="no variant named 'nope'"):
        system_config(params, "nope")
    with pytest.raises(ParameterError, match="ir_sets"):
        evaluate_mono_mono.run(params, tiny_data / "data/tiny/scenes", "nowhere", tmp_path)


@pytest.mark.parametrize("world", [1, 2, 4])
def test_batch_plan_covers_the_global_batch_whatever_the_process_count(world):
    plan = BatchPlan(8, 2, world)
    for it in (0, 3):
        seen = sorted(i for rank in range(world) for mb in plan.indices(it, rank) for i in mb)
        assert seen == list(range(it * 8, it * 8 + 8))
        assert all(len(mb) == 2 for rank in range(world) for mb in plan.indices(it, rank))


def test_batch_plan_rejects_a_batch_that_does_not_split():
    with pytest.raises(ParameterError, match="micro_batch_size"):
        BatchPlan(6, 4, 1)


def test_the_same_checkpoint_content_gives_the_same_bytes(tmp_path):
    """torch.save names the zip's records after the file it writes (a random temporary name here):
    save_checkpoint writes through a file object, so equal content gives equal bytes, in any folder."""
    blob = {"model": {"w": torch.arange(6.0).reshape(2, 3), "b": torch.zeros(3)}, "history": [{"iteration": 1}]}
    a, b = tmp_path / "a" / "model.pt", tmp_path / "b" / "other.pt"
    save_checkpoint(a, "k", {"x": 1}, **blob)
    save_checkpoint(b, "k", {"x": 1}, **blob)
    assert _sha256(a) == _sha256(b)
    save_checkpoint(b, "k", {"x": 1}, **{**blob, "history": [{"iteration": 2}]})
    assert _sha256(a) != _sha256(b)


def test_checkpoint_writes_are_atomic(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint(path, "k", {"a": 1}, model={"w": torch.ones(2)})
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]
    assert load_checkpoint(path, "k", {"a": 1})["model"]["w"].sum() == 2


def test_scene_pretext_after_shape_classification(tiny_data, params, tmp_path):
    p = {**params, "pretrain": {**params["pretrain"], "scene_iterations": 2, "val_every": 2, "scene_val_scenes": 4}}
    pretrain_vision.run(
        p,
        tiny_data / "data/tiny/shapes",
        tmp_path / "model",
        tmp_path / "live",
        tmp_path / "ckpt",
        threads=1,
        dataset=tiny_data / "data/tiny",
    )
    summary = _summary(tmp_path)
    assert 0.0 <= summary["scene_val_azimuth_accuracy"] <= 1.0
    assert 0.0 <= summary["scene_test_azimuth_accuracy"] <= 1.0
    assert summary["scene_azimuth_chance"] == pytest.approx(1 / 8)
    blob = load_checkpoint(tmp_path / "model/model.pt", "pretrain_vision")
    k = params["model"]["vision"]["out_channels"]
    assert blob["model"]["fc.kernel"].shape[-1] == k  # the binaural model's own K-wide head
    assert blob["config"]["scene_pretext"]["scene_iterations"] == 2
    # a Points2Sound variant takes trunk and head; a head of another width (Mono2Binaural's) stays fresh
    from points2sound.models.systems import build_vision

    assert build_vision(params["model"]["vision"], k, 0).load_pretrained(blob["model"]) is True
    assert build_vision(params["model"]["vision"], k + 1, 0).load_pretrained(blob["model"]) is False
    with pytest.raises(ParameterError, match="needs the dataset"):
        pretrain_vision.run(
            p, tiny_data / "data/tiny/shapes", tmp_path / "m2", tmp_path / "live2", tmp_path / "ck2", threads=1
        )


@pytest.mark.parametrize("target", ["azimuth", "instrument_azimuth"])
def test_placed_scene_labels_are_where_the_performers_stand(tiny_data, params, target):
    from points2sound.data.scenes import SceneSources
    from points2sound.settings.scenes import scene_config
    from points2sound.train.scene_pretext import PlacedScenes, PlacementLabels

    sources = SceneSources.from_dataset(tiny_data / "data/tiny", "train", HRIR, require_renders=False)
    azimuths = tuple(params["render"]["azimuths_deg"])
    labels = PlacementLabels(tuple(params["instruments"]), azimuths, target)
    for n in (1, 2, 3):
        scenes = PlacedScenes(
            sources, labels, scene_config(params), seed=5, features="xyz", max_sources=3, augment=False, n_sources=n
        )
        for i in range(4):
            item = scenes[i]
            assert item.labels.sum() == n and item.n_sources == n
            assert labels.vector([]).shape == item.labels.shape
            if n == 1:
                # the cloud's centroid (xyz features are the metric coordinates) lies at the labelled azimuth
                x, _, z = item.feats.mean(axis=0)
                seen = np.degrees(np.arctan2(x, z)) % 360
                want = azimuths[item.azimuth_index]
                assert min(abs(seen - want), 360 - abs(seen - want)) < 15
                assert labels.azimuth_logits(torch.from_numpy(item.labels)[None]).argmax() == item.azimuth_index
    with pytest.raises(ParameterError, match="scene_target"):
        PlacementLabels(("a",), (0,), "elevation")
