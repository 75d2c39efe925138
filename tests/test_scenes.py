"""Scene generation (paper Sec. 3.4) on a small dataset written by the tests."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from scipy import stats

from points2sound.config import read_params_file
from points2sound.data.scenes import (
    SceneSampler,
    SceneSources,
    build_scene,
    load_materialized_scene,
    make_scene_specs,
    materialize_scenes,
    read_scene_specs,
    same_side,
    sample_scene_spec,
    scene_cloud,
)
from points2sound.errors import InputFileError, ParameterError
from points2sound.geometry.pointcloud import PointCloud, read_ply, write_ply
from points2sound.settings.scenes import AugmentParams, SceneConfig, SceneTestSet

# the paper's augmentation, as params.yaml's base sets it
PAPER_AUGMENT = AugmentParams(
    **read_params_file(Path(__file__).resolve().parents[1] / "params.yaml")["scenes"]["augment"]
)

SR = 8000
N_SAMPLES = 8000  # 1 s recordings
FPS = 15
INSTRUMENTS = ("cello", "guitar", "saxophone", "violin")
AZIMUTHS = tuple(range(0, 360, 45))
# the paper's scenes over this test dataset: 1..3 sources at 1-3 m, 2000-sample segments
SCENES = SceneConfig(
    max_sources=3,
    azimuths_deg=AZIMUTHS,
    distance_range_m=(1.0, 3.0),
    segment_samples=2000,
    fps=FPS,
    sample_rate=SR,
    ir_set="hrir",
    listener_height_m=1.2,
    voxel_size_m=0.02,
    scale_by_n=True,
    augment=PAPER_AUGMENT,
    test=SceneTestSet(count=6, clip_s=0.25, design="random", same_side_share_n2=0.0),
)
BUILD = dict(mono_input="sum_lr", features="rgb")


def _render(mono: np.ndarray, az: int) -> np.ndarray:
    """A stand-in binaural render whose channels depend on the azimuth."""
    left = mono * (1.0 + az / 360.0)
    right = np.roll(mono, 1 + az // 45) * (1.0 - az / 720.0)
    return np.stack([left, right], axis=1)


def make_dataset(root: Path, split: str = "test", ir_set: str = "hrir", frames: int = 3) -> Path:
    """audio, binaural renders, PLY frames and the two split CSVs of the data contract."""
    rng = np.random.default_rng(123)
    audio_rows, perf_rows = [], []
    for inst in INSTRUMENTS:
        for k in range(2):
            name = f"{inst}_rec{k}"
            mono = (0.3 * rng.standard_normal(N_SAMPLES + 800 * k)).astype(np.float32)
            path = root / "audio" / inst / f"{name}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, mono, SR, subtype="FLOAT")
            for az in AZIMUTHS:
                out = root / "binaural" / ir_set / inst / f"{name}_{az}.wav"
                out.parent.mkdir(parents=True, exist_ok=True)
                sf.write(out, _render(mono, az), SR, subtype="FLOAT")
            audio_rows.append(
                dict(
                    recording=name,
                    instrument=inst,
                    path=f"audio/{inst}/{name}.wav",
                    duration_s=len(mono) / SR,
                    sample_rate=SR,
                )
            )
        for k in range(2):
            folder = root / "frames" / inst / f"p{k}"
            for f in range(frames):
                n = 300
                xyz = rng.uniform([-0.3, 0.0, -0.2], [0.3, 1.7, 0.2], (n, 3))
                write_ply(folder / f"{f:05d}.ply", PointCloud(xyz, rng.uniform(size=(n, 3))))
            perf_rows.append(
                dict(performer=f"p{k}", instrument=inst, n_frames=frames, frames_dir=f"frames/{inst}/p{k}")
            )
    (root / "splits").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(audio_rows).to_csv(root / "splits" / f"{split}_audio.csv", index=False)
    pd.DataFrame(perf_rows).to_csv(root / "splits" / f"{split}_performers.csv", index=False)
    return root


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("dataset"))


@pytest.fixture()
def sources(dataset) -> SceneSources:
    return SceneSources.from_dataset(dataset, "test", "hrir")


def _spec(sources, seed=0, n_sources=None, **changes):
    return sample_scene_spec(np.random.default_rng(seed), sources, SCENES.replace(**changes), n_sources=n_sources)


# ---------------------------------------------------------------- specs


def test_number_of_sources_is_uniform(sources):
    rng = np.random.default_rng(0)
    counts = np.bincount([sample_scene_spec(rng, sources, SCENES).n_sources for _ in range(1500)], minlength=4)
    assert counts[0] == 0
    assert stats.chisquare(counts[1:]).pvalue > 1e-3


def test_specs_have_distinct_instruments_and_azimuths_and_valid_draws(sources, dataset):
    rng = np.random.default_rng(1)
    distances = []
    for _ in range(400):
        spec = sample_scene_spec(rng, sources, SCENES)
        inst = [s.instrument for s in spec.sources]
        az = [s.azimuth_deg for s in spec.sources]
        assert len(set(inst)) == len(inst) and len(set(az)) == len(az)
        assert set(az) <= set(AZIMUTHS)
        for s in spec.sources:
            assert 1.0 <= s.distance_m <= 3.0
            assert s.recording.startswith(s.instrument) and s.performer in ("p0", "p1")
            length = sf.info(dataset / "audio" / s.instrument / f"{s.recording}.wav").frames
            assert 0 <= s.start <= length - 2000
            assert s.frame == math.floor(s.start / SR * FPS) % 3  # the frame at the segment's start time
            distances.append(s.distance_m)
    assert stats.kstest(distances, stats.uniform(loc=1, scale=2).cdf).pvalue > 1e-3


def test_spec_respects_fixed_n_and_room_azimuths(sources):
    room = (270, 315, 0, 45, 90)
    for seed in range(50):
        spec = _spec(sources, seed, n_sources=3, azimuths_deg=room)
        assert spec.n_sources == 3 and {s.azimuth_deg for s in spec.sources} <= set(room)


def test_spec_rejects_impossible_requests(sources):
    with pytest.raises(ParameterError, match="distinct instruments"):
        _spec(sources, n_sources=5)
    with pytest.raises(ParameterError, match="distinct azimuths"):
        _spec(sources, n_sources=3, azimuths_deg=(0, 90))
    with pytest.raises(ParameterError, match="at least 9000 samples"):
        _spec(sources, segment_samples=9000, n_sources=1)  # longer than every recording
    # only the 8800-sample recordings are long enough: they are the only ones drawn
    assert {s.recording[-4:] for seed in range(20) for s in _spec(sources, seed, segment_samples=8500).sources} == {
        "rec1"
    }
    with pytest.raises(ParameterError, match="sample_rate"):
        make_scene_specs(sources, SCENES.replace(sample_rate=16000), 6, seed=0)
    with pytest.raises(ParameterError, match="distance_range"):
        SCENES.replace(distance_range_m=(3.0, 1.0))


def test_same_side_flag():
    assert same_side([45, 90]) and same_side([225, 315, 270]) and same_side([135])
    assert not same_side([45, 270]) and not same_side([0, 90]) and not same_side([180, 225])


def test_test_set_counts_per_n_equal_and_deterministic(sources):
    specs = make_scene_specs(sources, SCENES, 30, seed=5)
    assert np.bincount([s.n_sources for s in specs], minlength=4)[1:].tolist() == [10, 10, 10]
    assert len({s.scene_id for s in specs}) == 30
    assert specs == make_scene_specs(sources, SCENES, 30, seed=5)
    assert specs != make_scene_specs(sources, SCENES, 30, seed=6)
    with pytest.raises(ParameterError, match="count"):
        make_scene_specs(sources, SCENES, 31, seed=5)


# ---------------------------------------------------------------- built scenes


def _expected_audio(dataset: Path, spec, t: int):
    """Target and true mono summed straight from the files with soundfile."""
    target = np.zeros((2, t))
    mono = np.zeros(t)
    for s in spec.sources:
        render, _ = sf.read(dataset / "binaural" / "hrir" / s.instrument / f"{s.recording}_{s.azimuth_deg}.wav")
        target += render[s.start : s.start + t].T
        m, _ = sf.read(dataset / "audio" / s.instrument / f"{s.recording}.wav")
        mono += m[s.start : s.start + t]
    return target / spec.n_sources, mono / spec.n_sources


@pytest.mark.parametrize("mono_input", ["true_mono", "left", "sum_lr"])
def test_target_is_sum_of_render_segments_over_n(sources, dataset, mono_input):
    spec = _spec(sources, 3, n_sources=3)
    scene = build_scene(spec, sources, SCENES, mono_input=mono_input, features="rgb")
    target, mono = _expected_audio(dataset, spec, 2000)
    assert scene.binaural.dtype == np.float32 and scene.binaural.shape == (2, 2000)
    np.testing.assert_allclose(scene.binaural, target, atol=1e-6)
    expected = {"true_mono": mono, "left": target[0], "sum_lr": target[0] + target[1]}[mono_input]
    np.testing.assert_allclose(scene.mono, expected, atol=1e-6)
    unscaled = build_scene(spec, sources, SCENES.replace(scale_by_n=False), **BUILD)
    np.testing.assert_allclose(unscaled.binaural, target * 3, atol=1e-5)


def test_scene_cloud_places_each_performer(sources, dataset):
    spec = _spec(sources, 4, n_sources=2)
    cloud = scene_cloud(spec, sources, listener_height_m=1.3)
    start = 0
    for s in spec.sources:
        frame = read_ply(dataset / "frames" / s.instrument / s.performer / f"{s.frame:05d}.ply")
        part = cloud.xyz[start : start + len(frame)].astype(float)
        t = math.radians(s.azimuth_deg + 180)
        x, y, z = frame.xyz.astype(float).T
        a = math.radians(s.azimuth_deg)
        expected = np.stack(
            [
                x * math.cos(t) + z * math.sin(t) + s.distance_m * math.sin(a),
                y - 1.3,
                -x * math.sin(t) + z * math.cos(t) + s.distance_m * math.cos(a),
            ],
            axis=1,
        )
        np.testing.assert_allclose(part, expected, atol=1e-5)
        np.testing.assert_allclose(cloud.rgb[start : start + len(frame)], frame.rgb)
        start += len(frame)
    assert start == len(cloud)


def test_voxel_features_and_coordinates(sources):
    spec = _spec(sources, 5, n_sources=3)
    scene = build_scene(spec, sources, SCENES.replace(voxel_size_m=0.05), mono_input="sum_lr", features="xyz")
    assert scene.coords.dtype == np.int32 and scene.feats.shape == (len(scene.coords), 3)
    assert np.all(scene.feats >= scene.coords * 0.05 - 1e-5) and np.all(scene.feats < (scene.coords + 1) * 0.05 + 1e-5)
    # the floor lies listener_height_m below the head
    assert scene.feats[:, 1].min() >= -1.2 - 1e-5 and scene.feats[:, 1].min() < -1.1
    rgb = build_scene(spec, sources, SCENES.replace(voxel_size_m=0.05), **BUILD)
    np.testing.assert_array_equal(rgb.coords, scene.coords)
    assert rgb.feats.min() >= 0 and rgb.feats.max() <= 1


def test_sampler_is_deterministic_and_augments_without_touching_cache(dataset):
    kw = dict(scenes=SCENES.replace(voxel_size_m=0.05), length=4, **BUILD)
    a = SceneSampler(SceneSources.from_dataset(dataset, "test", "hrir"), seed=11, augment=True, **kw)
    b = SceneSampler(SceneSources.from_dataset(dataset, "test", "hrir"), seed=11, augment=True, **kw)
    for i in (0, 3, 1):
        sa, sb = a[i], b[i]
        assert sa.spec == sb.spec
        for name in ("mono", "binaural", "coords", "feats"):
            np.testing.assert_array_equal(getattr(sa, name), getattr(sb, name))
    assert a[0].spec != a[1].spec
    assert len(list(a)) == 4
    with pytest.raises(IndexError):
        a[4]
    # augmentation changes the cloud but not the audio, and leaves the cached frames intact
    plain = SceneSampler(a.sources, seed=11, augment=False, **kw)
    assert plain[2].spec == a[2].spec
    np.testing.assert_array_equal(plain[2].binaural, a[2].binaural)
    assert not np.array_equal(plain[2].feats, a[2].feats) or not np.array_equal(plain[2].coords, a[2].coords)
    s = a.spec(2).sources[0]
    cached = a.sources.cache.frame(a.sources.frame_path(s.instrument, s.performer, s.frame))
    fresh = read_ply(dataset / "frames" / s.instrument / s.performer / f"{s.frame:05d}.ply")
    np.testing.assert_array_equal(cached.xyz, fresh.xyz)
    assert a.sources.cache.hits > 0


def test_augmented_build_needs_a_generator(sources):
    with pytest.raises(ParameterError, match="rng"):
        build_scene(_spec(sources), sources, SCENES, augment=PAPER_AUGMENT, **BUILD)
    with pytest.raises(ParameterError, match="mono_input"):
        build_scene(_spec(sources), sources, SCENES, mono_input="right", features="rgb")


# ---------------------------------------------------------------- materialized test sets


def test_materialize_and_load(sources, dataset, tmp_path):
    specs = make_scene_specs(sources, SCENES.replace(segment_samples=1500), 6, seed=2)
    table = materialize_scenes(specs, sources, tmp_path / "scenes", SCENES.replace(voxel_size_m=0.05))
    csv = pd.read_csv(tmp_path / "scenes" / "scenes.csv")
    assert len(csv) == 6 and list(csv.scene_id) == [s.scene_id for s in specs]
    for row, spec in zip(csv.itertuples(), specs):
        az = [int(a) for a in str(row.azimuths_deg).split(";")]
        assert az == [s.azimuth_deg for s in spec.sources] and row.n_sources == len(az)
        assert row.same_side == (all(0 < a < 180 for a in az) or all(180 < a < 360 for a in az))
        assert str(row.instruments).split(";") == [s.instrument for s in spec.sources]
    assert read_scene_specs(tmp_path / "scenes" / "scenes.csv") == specs
    assert len(table) == 6
    for spec in specs:
        scene = load_materialized_scene(tmp_path / "scenes" / f"{spec.scene_id}.npz")
        assert scene["spec"] == spec
        target, mono = _expected_audio(dataset, spec, 1500)
        np.testing.assert_allclose(scene["binaural"], target, atol=1e-6)
        np.testing.assert_allclose(scene["mono_true_mono"], mono, atol=1e-6)
        np.testing.assert_array_equal(scene["mono_left"], scene["binaural"][0])
        np.testing.assert_array_equal(scene["mono_sum_lr"], scene["binaural"][0] + scene["binaural"][1])
        built = build_scene(spec, sources, SCENES.replace(voxel_size_m=0.05), mono_input="sum_lr", features="xyz")
        np.testing.assert_array_equal(scene["coords"], built.coords)
        np.testing.assert_array_equal(scene["feats_xyz"], built.feats)
        assert scene["feats_rgb"].shape == scene["feats_xyz"].shape
    assert not list((tmp_path / "scenes").glob(".*tmp*"))  # no temporary files left behind


# ---------------------------------------------------------------- bad inputs


def test_missing_render_raises_clear_error(dataset, tmp_path):
    root = make_dataset(tmp_path / "d", frames=1)
    sources = SceneSources.from_dataset(root, "test", "hrir")
    spec = _spec(sources, 0, n_sources=1)
    s = spec.sources[0]
    missing = root / "binaural" / "hrir" / s.instrument / f"{s.recording}_{s.azimuth_deg}.wav"
    missing.unlink()
    with pytest.raises(InputFileError, match="render not found") as err:
        build_scene(spec, sources, SCENES, **BUILD)
    assert err.value.path == missing


def test_empty_or_missing_split_raises_clear_error(dataset, tmp_path):
    root = tmp_path / "e"
    (root / "splits").mkdir(parents=True)
    (root / "binaural" / "hrir").mkdir(parents=True)
    with pytest.raises(InputFileError, match="split index not found"):
        SceneSources.from_dataset(root, "test", "hrir")
    (root / "splits" / "test_audio.csv").write_text("recording,instrument,path,duration_s,sample_rate\n")
    (root / "splits" / "test_performers.csv").write_text("performer,instrument,n_frames,frames_dir\np,cello,1,f\n")
    with pytest.raises(InputFileError, match="no recordings"):
        SceneSources.from_dataset(root, "test", "hrir")
    (root / "splits" / "test_audio.csv").write_text("recording,instrument\nr,cello\n")
    with pytest.raises(InputFileError, match="lacks column"):
        SceneSources.from_dataset(root, "test", "hrir")
    with pytest.raises(InputFileError, match="binaural renders not found"):
        SceneSources.from_dataset(dataset, "test", "brir_missing")


def test_full_wav_cache_reads_segments_and_keeps_its_files(dataset):
    """Once full, the cache reads a miss's segment alone (no eviction); the samples equal a whole read's."""
    from points2sound.data.scenes import SourceCache

    one_file = 2 * N_SAMPLES * 4  # a stereo render of 1 s, float32
    cache = SourceCache(wav_bytes=int(2.5 * one_file))
    plain = SceneSources.from_dataset(dataset, "test", "hrir", cache=SourceCache(0, 0))
    cached = SceneSources.from_dataset(dataset, "test", "hrir", cache=cache)
    paths = [cached.render_path("cello", "cello_rec0", az) for az in AZIMUTHS[:5]]
    for round_ in range(2):
        for k, path in enumerate(paths):
            start = 100 * k + 7 * round_
            np.testing.assert_array_equal(
                cached.cache.audio(path, start, start + 500, 2, SR), plain.cache.audio(path, start, start + 500, 2, SR)
            )
    assert len(cache._wav) == 2 and cache._wav.nbytes <= cache._wav.max_bytes
    assert cache.hits == 2  # the two files cached in the first round are the ones kept


def test_balanced_test_set(sources):
    """design='balanced': every azimuth equally often within each N, the same-side share at N = 2, seeded."""
    from collections import Counter

    kw = dict(design="balanced", same_side_share=0.5)
    specs = make_scene_specs(sources, SCENES, 24, seed=5, **kw)
    assert specs == make_scene_specs(sources, SCENES, 24, seed=5, **kw)
    for n in (1, 2, 3):
        group = [s for s in specs if s.n_sources == n]
        assert len(group) == 8
        assert set(Counter(src.azimuth_deg for s in group for src in s.sources).values()) == {n}
    assert sum(s.same_side for s in specs if s.n_sources == 2) == 4
    room_scenes = SCENES.replace(azimuths_deg=(270, 315, 0, 45, 90))
    room = make_scene_specs(sources, room_scenes, 15, seed=5, **{**kw, "same_side_share": 0.4})
    assert {src.azimuth_deg for s in room for src in s.sources} == {270, 315, 0, 45, 90}
    with pytest.raises(ParameterError, match="multiple of 24 scenes"):
        make_scene_specs(sources, SCENES, 30, seed=5, **kw)
    with pytest.raises(ParameterError, match="design"):
        make_scene_specs(sources, SCENES, 24, seed=5, design="latin")
    # the random design is unchanged by the new options
    assert make_scene_specs(sources, SCENES, 30, seed=5) == make_scene_specs(
        sources, SCENES, 30, seed=5, design="random", same_side_share=0.9
    )


def test_the_foa_target_has_the_true_mono_as_w_and_each_source_at_its_azimuth(sources):
    from points2sound.data.scenes import scene_foa
    from points2sound.data.scenes.build import scene_audio
    from points2sound.foa.ambisonics import foa_gains

    spec = _spec(sources, seed=3, n_sources=2)
    field = scene_foa(spec, sources, scale_by_n=True)
    true_mono, _ = scene_audio(spec, sources, scale_by_n=True)
    assert field.shape == (4, spec.segment_samples) and field.dtype == np.float32
    np.testing.assert_allclose(field[0], true_mono, atol=1e-6)
    assert not field[2].any()  # horizontal sources
    # the field is linear in the sources: removing one source's encoding leaves the other's
    one = spec.sources[0]
    mono = sources.cache.audio(sources.mono_path(one.instrument, one.recording), one.start, one.start + spec.segment_samples, 1, sources.sample_rate)[0]  # fmt: skip
    rest = field - (foa_gains(one.azimuth_deg)[:, None] * mono / 2).astype(np.float32)
    other = spec.sources[1]
    np.testing.assert_allclose(rest[1:], foa_gains(other.azimuth_deg)[1:, None] * rest[0], atol=1e-5)
