"""User-facing inference: chunked overlap-add, the binauralize / render / show-scene commands, bad inputs."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from points2sound.cli import main
from points2sound.config import load_params
from points2sound.data.scenes import SceneSpec, SourceSpec
from points2sound.geometry.pointcloud import PointCloud, write_ply
from points2sound.geometry.voxelize import rotate_voxels_quarter
from points2sound.infer.binauralize import Binauralizer, InferenceOptions, plan_chunks
from points2sound.infer.scene_input import SourcePlacement, build_scene
from points2sound.models.checkpoint import save_checkpoint
from points2sound.models.loading import build_from_config
from points2sound.models.systems import Points2SoundNet
from points2sound.settings.train import system_config
from points2sound.train.variant import save_model

ROOT = Path(__file__).resolve().parents[1]
# sizes of a small test net; every other key (stem, backend, ...) as params.yaml has it
MODEL = load_params(Path(__file__).resolve().parents[1] / "params.yaml", "tiny")["model"]
VISION = {**MODEL["vision"], **{"planes": [8, 8, 16, 16], "layers": [1, 1, 1, 1], "out_channels": 4}}


def demucs(lstm: int) -> dict:
    return {
        **MODEL["demucs"],
        "residual": False,
        "normalize": False,
        "channels": 8,
        "depth": 3,
        "kernel_size": 8,
        "stride": 4,
        "growth": 2.0,
        "context": 3,
        "lstm_layers": lstm,
        "rescale": 0.1,
        "condition_output": False,
        "init_std": 0.02,
    }


def _performer(rng: np.random.Generator, n: int = 3000) -> PointCloud:
    """A coloured box-ish performer in its own frame (floor at y = 0, facing +z)."""
    xyz = rng.uniform([-0.25, 0.0, -0.15], [0.25, 1.6, 0.15], (n, 3))
    return PointCloud(xyz, rng.uniform(0, 1, (n, 3)))


# ------------------------------------------------------------------ chunking


@pytest.mark.parametrize("loss", ["full", "diff"])
@pytest.mark.parametrize("chunk_s,overlap_s,batch", [(1.0, 0.3, 3), (0.5, 0.2, 1), (2.0, 0.6, 8)])
def test_chunks_equal_whole_clip_without_lstm(loss, chunk_s, overlap_s, batch):
    """Without the BiLSTM every output sample has a finite receptive field: windows on the
    whole clip's stride grid with real context reproduce the one-pass output to float rounding."""
    system = Points2SoundNet(VISION, demucs(0), loss=loss, seed=1).eval()
    mono = np.random.default_rng(0).standard_normal(8000 * 5 + 123).astype(np.float32) * 0.1
    h = torch.randn(1, 4, generator=torch.Generator().manual_seed(0))
    whole = Binauralizer(system, {"sample_rate": 8000})(mono, h)
    runner = Binauralizer(
        system, {"sample_rate": 8000}, InferenceOptions(chunk_s=chunk_s, overlap_s=overlap_s, batch=batch)
    )
    assert len(runner.plan(mono.size).starts) > 2
    chunked = runner(mono, h)
    assert chunked.shape == whole.shape == (2, mono.size)
    np.testing.assert_allclose(chunked, whole, atol=2e-6 * np.abs(whole).max(), rtol=0)


@pytest.mark.parametrize("chunk_s,normalize", [(None, True), (1.0, False)])
def test_residual_model_gives_the_evaluation_output(chunk_s, normalize):
    """A model with the mono copy path (the demo's `residual: true`): the command's whole-clip and
    windowed outputs equal Points2SoundNet.binauralize, the evaluation's call. (With `normalize`
    windows are normalized one by one, so only the whole clip is exact there.)"""
    system = Points2SoundNet(VISION, {**demucs(0), "residual": True, "normalize": normalize}, seed=4).eval()
    assert system.residual
    rng = np.random.default_rng(1)
    coords = np.unique(rng.integers(0, 12, (200, 3)), axis=0).astype(np.int32)
    feats = rng.random((len(coords), 3)).astype(np.float32)
    mono = rng.standard_normal(8000 * 3 + 77).astype(np.float32) * 0.1
    with torch.no_grad():
        expected = system.binauralize(torch.from_numpy(mono)[None, None], system.vision.collate([coords], [feats]))[
            0
        ].numpy()
    runner = Binauralizer(system, {"sample_rate": 8000}, InferenceOptions(chunk_s=chunk_s, overlap_s=0.3))
    got = runner(mono, runner.visual_feature(coords, feats))
    # windows: the clip's first and last few samples differ by ~1e-4 of the peak (zero padding aligned
    # differently); a missing mono copy would be off by ~0.2 of it
    tol = 2e-6 if chunk_s is None else 2e-4
    np.testing.assert_allclose(got, expected, atol=tol * np.abs(expected).max(), rtol=0)


def test_chunks_close_to_whole_clip_with_lstm():
    """With the BiLSTM only its context differs; the overlap bounds the difference (no seams)."""
    # default init, and the BiLSTM's output map scaled up: at Demucs's small initial weights
    # the bottleneck barely reaches the output, here it carries several percent of it
    system = Points2SoundNet(VISION, {**demucs(1), "rescale": None, "init_std": None}, seed=2).eval()
    with torch.no_grad():
        system.audio.bottleneck.linear.weight.mul_(300.0)
    mono = np.random.default_rng(1).standard_normal(8000 * 6).astype(np.float32) * 0.1
    h = torch.randn(1, 4, generator=torch.Generator().manual_seed(1))
    whole = Binauralizer(system, {"sample_rate": 8000})(mono, h)
    no_lstm = copy.deepcopy(system)
    with torch.no_grad():
        no_lstm.audio.bottleneck.linear.weight.zero_()
        no_lstm.audio.bottleneck.linear.bias.zero_()
    share = Binauralizer(no_lstm, {"sample_rate": 8000})(mono, h) - whole
    assert np.sqrt(np.mean(share**2) / np.mean(whole**2)) > 0.03  # the BiLSTM matters in this model
    chunked = Binauralizer(system, {"sample_rate": 8000}, InferenceOptions(chunk_s=1.5, overlap_s=0.5))(mono, h)
    rel = np.sqrt(np.mean((chunked - whole) ** 2) / np.mean(whole**2))
    assert rel < 1e-2
    # no seam: the largest jump between neighbouring samples is like the whole clip's
    assert np.abs(np.diff(chunked)).max() <= 1.05 * np.abs(np.diff(whole)).max() + 1e-6


def test_plan_covers_clip_and_weights_sum_to_one():
    plan = plan_chunks(10000, 3000, 700, grid=64, origin=37)
    assert all((s - 37) % 64 == 0 for s in plan.starts)
    assert plan.starts[0] <= 0 and plan.starts[-1] + plan.length >= 10000
    total = np.zeros(10000)
    for k, s in enumerate(plan.starts):
        lo, hi = max(s, 0), min(s + plan.length, 10000)
        total[lo:hi] += plan.weights(k)[lo - s : hi - s]
    # linear cross-fades: the weights already sum to 1 (the runner normalizes anyway)
    np.testing.assert_allclose(total, 1.0, atol=1e-5)


def test_int8_stays_close_to_fp32():
    system = Points2SoundNet(VISION, demucs(1), seed=3).eval()
    mono = np.random.default_rng(2).standard_normal(8000 * 2).astype(np.float32) * 0.1
    h = torch.randn(1, 4, generator=torch.Generator().manual_seed(2))
    ref = Binauralizer(system, {"sample_rate": 8000})(mono, h)
    q = Binauralizer(copy.deepcopy(system), {"sample_rate": 8000}, InferenceOptions(precision="int8"))(mono, h)
    assert np.sqrt(np.mean((q - ref) ** 2) / np.mean(ref**2)) < 2e-2


# ------------------------------------------------------------------ the command


@pytest.fixture(scope="module")
def model_and_scene(tmp_path_factory, tiny_params):
    """A randomly initialized tiny p2s_rgb checkpoint and a materialized-style test scene."""
    work = tmp_path_factory.mktemp("infer")
    config = system_config(tiny_params, "p2s_rgb")
    system = build_from_config(config).eval()
    save_model(work / "model.pt", system, config, {"note": "random init"})
    sr = config["sample_rate"]
    rng = np.random.default_rng(5)
    t = sr * 3
    binaural = (rng.standard_normal((2, t)) * 0.1).astype(np.float32)
    placed = [(_performer(rng), 45, 2.0), (_performer(rng), 270, 1.5)]
    from points2sound.geometry.transforms import place_performer
    from points2sound.geometry.voxelize import scene_features, voxelize

    cloud = PointCloud.concatenate([place_performer(c, az, d, 1.2) for c, az, d in placed])
    coords, feats_rgb = voxelize(cloud.xyz, scene_features(cloud, "rgb"), 0.02)
    _, feats_xyz = voxelize(cloud.xyz, scene_features(cloud, "xyz"), 0.02)
    spec = SceneSpec(
        "scene_00000",
        t,
        sr,
        (SourceSpec("cello", "r0", 0, "p0", 0, 45, 2.0), SourceSpec("violin", "r1", 0, "p1", 0, 270, 1.5)),
    )
    npz = work / "scene_00000.npz"
    np.savez(
        npz,
        mono_true_mono=binaural.mean(0),
        mono_left=binaural[0],
        mono_sum_lr=binaural.sum(0),
        binaural=binaural,
        coords=coords,
        feats_rgb=feats_rgb,
        feats_xyz=feats_xyz,
        spec=np.array(spec.to_json()),
        voxel_size=np.float64(0.02),
    )
    wav = work / "mono.wav"
    sf.write(wav, binaural.sum(0), sr, subtype="FLOAT")
    sources = []
    for i, (c, az, d) in enumerate(placed):
        write_ply(work / f"p{i}.ply", c)
        sources.append((work / f"p{i}.ply", az, d))
    return {
        "work": work,
        "model": work / "model.pt",
        "npz": npz,
        "wav": wav,
        "sr": sr,
        "system": system,
        "config": config,
        "sources": sources,
        "coords": coords,
        "feats": feats_rgb,
    }


def _run(*args) -> int:
    return main([str(a) for a in args])


def _eval_stage_output(m) -> np.ndarray:
    """What the evaluation stage computes for the scene: system.binauralize on the whole clip."""
    from points2sound.data.scenes import load_materialized_scene

    data = load_materialized_scene(m["npz"])
    system = m["system"]
    scene = system.vision.collate([data["coords"]], [data["feats_rgb"]])
    with torch.no_grad():
        return system.eval().binauralize(torch.from_numpy(data["mono_sum_lr"])[None, None], scene)[0].numpy()


def test_binauralize_scene_equals_evaluation(model_and_scene, tmp_path):
    m = model_and_scene
    out = tmp_path / "out.wav"
    assert (
        _run(
            "binauralize",
            m["wav"],
            "--scene",
            m["npz"],
            "--checkpoint",
            m["model"],
            "--out",
            out,
            "--no-progress",
            "--params",
            ROOT / "params.yaml",
            "--profile",
            "tiny",
        )
        == 0
    )
    y, sr = sf.read(out, dtype="float32", always_2d=True)
    assert sr == m["sr"]
    np.testing.assert_array_equal(y.T, _eval_stage_output(m))


@pytest.mark.parametrize("flags,tol", [(["--engine", "gemm"], 2e-6), (["--fast", "--lstm-window-s", "0.5"], 3e-2)])
def test_binauralize_fast_paths_stay_close_to_evaluation(model_and_scene, tmp_path, flags, tol):
    """The GEMM engine in fp32 is the evaluation's function; the --fast preset (int8, BiLSTM windows)
    stays within its tolerance of it."""
    m = model_and_scene
    out = tmp_path / "out.wav"
    assert (
        _run(
            "binauralize",
            m["wav"],
            "--scene",
            m["npz"],
            "--checkpoint",
            m["model"],
            "--out",
            out,
            *flags,
            "--no-progress",
            "--params",
            ROOT / "params.yaml",
            "--profile",
            "tiny",
        )
        == 0
    )
    y, _ = sf.read(out, dtype="float32", always_2d=True)
    ref = _eval_stage_output(m)
    rel = np.sqrt(np.mean((y.T - ref) ** 2) / np.mean(ref**2))
    assert rel < tol


def test_binauralize_from_performer_clouds(model_and_scene, tmp_path):
    """Per-source clouds placed by the command give the scene's voxels, hence the same output."""
    m = model_and_scene
    placed = [SourcePlacement(p, az, d) for p, az, d in m["sources"]]
    scene = build_scene(sources=placed, features="rgb", voxel_size=0.02, listener_height_m=1.2)  # as the fixture
    np.testing.assert_array_equal(scene.coords, m["coords"])
    # PLY colours are 8-bit: features agree to 1/255
    np.testing.assert_allclose(scene.feats, m["feats"], atol=1 / 255)
    out = tmp_path / "out.wav"
    args = [x for p, az, d in m["sources"] for x in ("--source", p, az, d)]
    assert (
        _run(
            "binauralize",
            m["wav"],
            *args,
            "--checkpoint",
            m["model"],
            "--out",
            out,
            "--no-progress",
            "--profile",
            "tiny",
            "--params",
            ROOT / "params.yaml",
        )
        == 0
    )
    y, _ = sf.read(out, dtype="float32", always_2d=True)
    ref = _eval_stage_output(m)
    assert np.sqrt(np.mean((y.T - ref) ** 2) / np.mean(ref**2)) < 1e-2


def test_binauralize_stereo_other_rate_and_chunks(model_and_scene, tmp_path):
    m = model_and_scene
    rng = np.random.default_rng(9)
    wav = tmp_path / "stereo.wav"
    sf.write(wav, (rng.standard_normal((22050 * 4, 2)) * 0.05).astype(np.float32), 22050, subtype="FLOAT")
    out = tmp_path / "out.wav"
    assert (
        _run(
            "binauralize",
            wav,
            "--scene",
            m["npz"],
            "--checkpoint",
            m["model"],
            "--out",
            out,
            "--no-progress",
            "--chunk-s",
            "1.0",
            "--overlap-s",
            "0.25",
            "--yaw",
            "30",
            "--profile",
            "tiny",
            "--params",
            ROOT / "params.yaml",
        )
        == 0
    )
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.frames) == (22050, 2, 22050 * 4)


def test_yaw_turns_the_scene(model_and_scene):
    m = model_and_scene
    turned = build_scene(scene_npz=m["npz"], features="rgb", yaw_deg=90, voxel_size=0.02, listener_height_m=1.2)
    c, f = m["coords"], m["feats"]
    for _ in range(3):  # head +90 deg = scene -90 deg = three quarter turns
        c, f = rotate_voxels_quarter(c, f, "rgb")
    np.testing.assert_array_equal(turned.coords, c)
    assert turned.azimuths_deg == [315.0, 180.0]


def test_bad_inputs_fail_cleanly(model_and_scene, tmp_path, capsys):
    m = model_and_scene
    base = ["--checkpoint", m["model"], "--no-progress", "--profile", "tiny", "--params", ROOT / "params.yaml"]
    sr = m["sr"]
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros((0, 1), np.float32), sr, subtype="FLOAT")
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.array([0.1, np.nan, 0.2] * 100, np.float32), sr, subtype="FLOAT")
    noply = tmp_path / "none.ply"
    write_ply(noply, PointCloud(np.zeros((0, 3)), np.zeros((0, 3))))
    wrong = tmp_path / "pretrain.pt"
    save_checkpoint(wrong, "pretrain_vision", {"x": 1}, model={})
    out = tmp_path / "out.wav"
    cases = [
        (empty, ["--scene", m["npz"]], out, "empty"),
        (nan, ["--scene", m["npz"]], out, "NaN"),
        (m["wav"], ["--cloud", noply], out, "no points"),
        (m["wav"], ["--scene", m["npz"], "--checkpoint", wrong], out, "pretrain_vision"),
        (m["wav"], ["--scene", m["npz"]], tmp_path / "nodir" / "file.txt" / "out.wav", "cannot be written"),
        (m["wav"], [], out, "exactly one"),
    ]
    (tmp_path / "nodir").mkdir()
    (tmp_path / "nodir" / "file.txt").write_text("a file, not a folder")
    for audio, extra, target, message in cases:
        capsys.readouterr()
        rc = _run("binauralize", audio, *base, *extra, "--out", target)
        err = capsys.readouterr().err  # the CLI logs to stderr
        assert rc == 2, (message, err)
        assert message in err, (message, err)
        assert not out.exists()
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(sr, np.float32), sr, subtype="FLOAT")
    assert _run("binauralize", silent, *base, "--scene", m["npz"], "--out", out) == 0
    assert "silent" in capsys.readouterr().err and out.exists()


# ------------------------------------------------------------------ render and show-scene


def test_render_stems_through_sofa(tmp_path):
    from points2sound.render.sofa_io import write_hrir_sofa

    sr = 8000
    az = np.arange(0, 360, 45.0)
    irs = np.zeros((len(az), 2, 16))
    for i in range(len(az)):  # a distinct delay and gain per azimuth and ear
        irs[i, 0, i] = 1.0
        irs[i, 1, i + 1] = 0.5
    sofa = tmp_path / "set.sofa"
    write_hrir_sofa(sofa, irs, sr, az, 1.0, name="test")
    rng = np.random.default_rng(3)
    a, b = (rng.standard_normal(sr).astype(np.float32) for _ in range(2))
    sf.write(tmp_path / "a.wav", a, sr, subtype="FLOAT")
    sf.write(tmp_path / "b.wav", b, sr, subtype="FLOAT")
    out = tmp_path / "r.wav"
    assert (
        _run("render", "--stem", tmp_path / "a.wav", 90, "--stem", tmp_path / "b.wav", 316, "--ir", sofa, "--out", out)
        == 0
    )
    y, _ = sf.read(out, dtype="float32", always_2d=True)
    expect = np.zeros((2, sr), np.float32)
    for sig, i in ((a, 2), (b, 7)):
        expect[0, i:] += sig[: sr - i]
        expect[1, i + 1 :] += 0.5 * sig[: sr - i - 1]
    np.testing.assert_allclose(y.T, expect, atol=1e-5)
    assert _run("render", "--stem", tmp_path / "a.wav", 20, "--ir", sofa, "--out", tmp_path / "x.wav") == 2
    assert not (tmp_path / "x.wav").exists()


def test_show_scene_writes_an_image(model_and_scene, tmp_path):
    m = model_and_scene
    out = tmp_path / "scene.png"
    args = [x for p, az, d in m["sources"] for x in ("--source", p, az, d)]
    assert (
        _run("show-scene", *args, "--yaw", "20", "--out", out, "--profile", "tiny", "--params", ROOT / "params.yaml")
        == 0
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out2 = tmp_path / "scene2.png"
    assert (
        _run("show-scene", "--scene", m["npz"], "--out", out2, "--profile", "tiny", "--params", ROOT / "params.yaml")
        == 0
    )
    assert out2.stat().st_size > 10000


def test_listening_pages_draw_scenes_voxelized_at_any_size(model_and_scene, tmp_path):
    """The demo's scenes are voxelized at 0.04 m: their pictures use the scene's own voxel size."""
    from points2sound.evaluate.listening import write_listening_pages

    m = model_and_scene
    scenes = tmp_path / "scenes"
    scenes.mkdir()
    with np.load(m["npz"]) as data:
        arrays = {k: data[k] for k in data.files}
    np.savez(scenes / "scene_00000.npz", **{**arrays, "voxel_size": np.float64(0.04)})
    examples = tmp_path / "examples"
    examples.mkdir()
    # the demo's clips: 4 s at 16 kHz, float WAVs (1.3 MB for the three), noise so nothing compresses
    rng = np.random.default_rng(3)
    for kind in ("mono", "prediction", "truth"):
        clip = rng.uniform(-0.5, 0.5, (4 * 16000, 2 if kind != "mono" else 1)).astype(np.float32)
        sf.write(examples / f"N2_scene_00000_{kind}.wav", clip, 16000, subtype="FLOAT")
    pages = write_listening_pages(examples, scenes, tmp_path / "pictures", 1.2)
    assert [p.name for p in pages] == ["N2_scene_00000.html"]
    assert (tmp_path / "pictures" / "N2_scene_00000.png").read_bytes()[:4] == b"\x89PNG"
    text = pages[0].read_text()
    assert text.count("<audio") == 3
    # each player holds the clip as 16-bit PCM; the page, embedded by `snakemake --report` as a base64
    # data URI, stays under Chromium's 2 MB limit on them
    import base64
    import io
    import re

    uris = re.findall(r'src="data:audio/wav;base64,([^"]+)"', text)
    decoded = [sf.read(io.BytesIO(base64.b64decode(u)), always_2d=True) for u in uris]
    originals = [
        sf.read(examples / f"N2_scene_00000_{k}.wav", always_2d=True)[0] for k in ("mono", "prediction", "truth")
    ]
    assert [sf.info(io.BytesIO(base64.b64decode(u))).subtype for u in uris] == ["PCM_16"] * 3
    for (got, rate), want in zip(decoded, originals):
        assert rate == 16000 and got.shape == want.shape and np.abs(got - want).max() < 1e-4
    assert len(text.encode()) * 4 / 3 < 2 * 1024 * 1024
