"""Each real source fetched from a loopback server into the data contract, then the shared stages on it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from points2sound.config import load_params
from points2sound.data.sources import fetch_source as _fetch_source
from points2sound.data.sources.download import DownloadError
from points2sound.data.sources.manifest import read_manifest
from points2sound.data.sources.status import format_status, status_table
from points2sound.errors import InputFileError
from points2sound.settings.sources import sources_config
from test_download_server import (
    ROOT,
    LoopbackServer,
    clouds_zip,
    down_url,
    hrir_sofa_bytes,
    modelnet_zip,
    sha256,
    twoears_brir_bytes,
    wav_bytes,
    zenodo_record_json,
)

INSTRUMENTS = ["cello", "doublebass", "guitar", "saxophone", "violin"]
MUSIC_IDS = {
    "cello": ["c1", "c2", "c3"],
    "acoustic_guitar": ["g1", "g2", "g3", "g4"],
    "saxophone": ["s1", "s2"],
    "violin": ["v1", "v2", "v3"],
}
SOLOS_IDS = {"Cello": ["c3", "c4"], "DoubleBass": ["d1", "d2", "d3"], "Saxophone": ["s3", "GONE-s4"], "Violin": ["v4"]}
GONE = {"GONE-s4", "c2"}


def fetch_source(params: dict, name: str, root: Path, cache: Path) -> dict:
    """Fetch one source with the settings read off `params`, as the CLI does."""
    return _fetch_source(sources_config(params), name, root, cache)


def _params(base: str, api: str, lists: dict[str, bytes], overrides: dict | None = None) -> dict:
    sources = {
        "cache_dir": "unused",
        "zenodo_api": api,
        "retries": 2,
        "backoff_s": 0.0,
        "timeout_s": 5,
        "music_solos": {
            "lists": [{"name": n, "url": f"{base}/lists/{n}.json", "sha256": sha256(b)} for n, b in lists.items()],
            "video_url": base + "/media/{id}.wav",
            "recordings_per_instrument": 4,
            "recording_s": 1.0,
            "min_recording_s": 0.5,
            "max_segments_per_video": 2,
        },
        "points2sound_clouds": {"zenodo_record": 4812952, "axes": "check"},
        "modelnet40": {"url": f"{base}/ModelNet40.zip", "points_per_shape": 64},
        "kemar": {"file": "QU_KEMAR_anechoic_1m.sofa", "urls": [down_url(), f"{base}/kemar/QU_KEMAR_anechoic_1m.sofa"]},
        "rooms": {
            "calypso": {"file": "calypso.sofa", "urls": [f"{base}/rooms/calypso.sofa"]},
            "spirit": {"file": "QU_KEMAR_spirit.sofa", "urls": [f"{base}/rooms/QU_KEMAR_spirit.sofa"]},
        },
    }
    over = {
        "dataset": {"name": "real", "source": "real"},
        "hrir": {"name": "QU_KEMAR_anechoic_1m", "source": "sofa"},
        "shapes": {"name": "modelnet40"},
        "rooms": {
            "sets": {
                "calypso": {"source": "measured", "preset": "calypso", "rt60_s": 0.17},
                "spirit": {"source": "measured", "preset": "spirit", "rt60_s": 0.5},
            }
        },
        "sources": sources,
        **(overrides or {}),
    }
    return load_params(ROOT / "params.yaml", "tiny", over)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A loopback server holding every source's files, and params pointing at it."""
    tmp = tmp_path_factory.mktemp("site")
    with LoopbackServer() as srv:
        lists = {
            "MUSIC_solo": json.dumps({"version": 1.0, "videos": MUSIC_IDS}, indent=4).encode(),
            "Solos": json.dumps(SOLOS_IDS).encode(),
        }
        for name, body in lists.items():
            srv.add(f"/lists/{name}.json", body, "application/json")
        for table in (MUSIC_IDS, SOLOS_IDS):
            for ids in table.values():
                for i, vid in enumerate(ids):
                    if vid not in GONE:  # gone videos answer 404, like a removed upload
                        seconds = 0.3 if vid == "v3" else 2.2
                        srv.add(f"/media/{vid}.wav", wav_bytes(seconds, freq=200 + 40 * i, seed=i), "audio/wav")
        clouds = clouds_zip()
        srv.add("/api/records/4812952/files/musicians.zip/content", clouds, "application/zip")
        srv.add(
            "/api/records/4812952", zenodo_record_json(srv.base, 4812952, {"musicians.zip": clouds}), "application/json"
        )
        srv.add("/ModelNet40.zip", modelnet_zip(), "application/zip")
        srv.add("/kemar/QU_KEMAR_anechoic_1m.sofa", hrir_sofa_bytes(tmp))
        srv.add(
            "/rooms/calypso.sofa", twoears_brir_bytes(tmp, "c.sofa", emitters_deg=(0.0, 30.0, -30.0, 110.0, -110.0))
        )
        srv.add("/rooms/QU_KEMAR_spirit.sofa", twoears_brir_bytes(tmp, "s.sofa"))
        params = _params(srv.base, srv.base + "/api/records", lists)
        yield srv, params


@pytest.fixture(scope="module")
def fetched(site, tmp_path_factory):
    """Every source fetched once into a fresh data contract (shared by the checks below)."""
    srv, params = site
    work = tmp_path_factory.mktemp("fetched")
    root, cache = work / "data" / "real", work / "downloads"
    manifests = {
        name: fetch_source(params, name, root, cache)
        for name in ("kemar", "rooms", "points2sound_clouds", "modelnet40", "music_solos")
    }
    return params, root, cache, manifests


def test_kemar_hrirs_land_in_the_contract(fetched):
    from points2sound.render.sofa_io import read_ir_set

    params, root, _, m = fetched
    irset = read_ir_set(root / "ir" / "QU_KEMAR_anechoic_1m.sofa")
    assert irset.kind == "hrir" and irset.azimuths_deg.size == 360
    assert m["kemar"]["file_count"] == 1 and m["kemar"]["files"]["QU_KEMAR_anechoic_1m.sofa"]["sha256"]
    assert read_manifest(root / "manifests" / "kemar.json")["licence"] == params["sources"]["kemar"]["licence"]


def test_room_brirs_pick_the_front_speaker_and_the_head_rotations(fetched):
    from points2sound.render.sofa_io import read_ir_set

    params, root, _, m = fetched
    for room in ("calypso", "spirit"):
        irset = read_ir_set(root / "ir" / f"{room}.sofa")
        assert irset.kind == "brir"
        # head turned by r: the front source appears at -r
        assert sorted(np.round(irset.azimuths_deg).astype(int) % 360) == sorted(
            (-r) % 360 for r in params["rooms"]["head_rotations_deg"]
        )
        info = m["rooms"]["sets"][room]
        assert abs(info["emitter_azimuth_deg"]) < 1e-6 and info["head_rotations_deg"] == [-90, -45, 0, 45, 90]
        # the front loudspeaker's IR (its marker sits at tap 3 + index) and the right head rotation's gain
        k = info["emitter"]
        ir = irset.ir(45.0)  # head turned -45 deg
        assert np.argmax(ir[0]) == 3 + k and ir[0].max() == pytest.approx(1.0 - 0.45, abs=1e-6)


def test_point_clouds_are_mapped_to_performers(fetched):
    _, root, _, m = fetched
    for inst in INSTRUMENTS:
        performers = sorted(p.name for p in (root / "frames" / inst).iterdir())
        assert performers == ["person_1", "person_2", "person_3"]
        assert sorted(f.name for f in (root / "frames" / inst / "person_1").iterdir()) == ["00000.ply", "00001.ply"]
    man = m["points2sound_clouds"]
    assert man["file_count"] == 30 and man["point_count"] == 30 * 120 and man["licence"] == "cc-by-4.0"
    assert man["files"]["musicians.zip"]["md5"]


def test_modelnet_meshes_are_sampled_into_the_pretraining_layout(fetched):
    _, root, _, m = fetched
    from points2sound.geometry.pointcloud import read_ply

    train = pd.read_csv(root / "shapes" / "splits" / "train.csv")
    test = pd.read_csv(root / "shapes" / "splits" / "test.csv")
    assert list(train.columns) == ["shape", "class", "path"] and len(train) == 6 and len(test) == 2
    cloud = read_ply(root / "shapes" / train.path[0])
    assert len(cloud) == 64 and np.linalg.norm(cloud.xyz, axis=1).max() == pytest.approx(0.5, rel=1e-4)
    assert m["modelnet40"]["lenient_headers"] >= 1 and m["modelnet40"]["skipped"] == []


def test_audio_is_mono_at_the_profile_rate_and_gone_videos_are_replaced(fetched):
    params, root, _, m = fetched
    sr = params["audio"]["sample_rate"]
    report = m["music_solos"]["instruments"]
    for inst in INSTRUMENTS:
        files = sorted((root / "audio" / inst).glob("*.wav"))
        assert len(files) == 4, inst
        info = sf.info(str(files[0]))
        assert info.channels == 1 and info.samplerate == sr
    assert set(report["saxophone"]["skipped"]) == {"GONE-s4"}  # gone: skipped, listed, replaced
    assert "c2" in report["cello"]["skipped"]
    # doublebass has 3 videos: the 4th recording is a second segment of one of them
    assert sorted(r["segment"] for r in report["doublebass"]["recordings"]) == [0, 0, 0, 1]
    assert "v3" in report["violin"]["skipped"]  # 0.3 s: shorter than min_recording_s
    assert m["music_solos"]["total_duration_s"] > 0 and m["music_solos"]["file_count"] == 20


def test_fetch_is_deterministic(site, fetched, tmp_path):
    """A second fetch (from the cache, no network) writes the same bytes."""
    params, root, cache, _ = fetched
    again = tmp_path / "again"
    fetch_source(params, "music_solos", again, cache)
    a = sorted(p.relative_to(root / "audio") for p in (root / "audio").rglob("*.wav"))
    assert a == sorted(p.relative_to(again / "audio") for p in (again / "audio").rglob("*.wav"))
    assert all((root / "audio" / p).read_bytes() == (again / "audio" / p).read_bytes() for p in a)


def test_status_reports_verified_sources(fetched):
    """ "verified" only where a pinned or published checksum was checked; unpinned downloads are "present"
    with their sha256 compared against the one their fetch recorded in the manifest."""
    params, root, cache, _ = fetched
    rows = {r.source: r for r in status_table(sources_config(params), root, cache)}
    assert set(rows) == {"music_solos", "points2sound_clouds", "modelnet40", "kemar", "rooms"}
    text = format_status(list(rows.values()), "tiny")
    assert rows["music_solos"].state == rows["points2sound_clouds"].state == "verified", text
    for name in ("modelnet40", "kemar", "rooms"):  # no sha256 in these test params
        assert rows[name].state == "present", text
        assert all(s == "unpinned (sha256 matches the manifest)" for _, s in rows[name].downloads), text


def test_shared_stages_run_on_the_fetched_data(fetched):
    """split, render (HRIR and measured rooms) and scenes run unchanged on the converted data."""
    from points2sound.pipeline.stages import pretrain_vision, test_scenes
    from points2sound.pipeline.stages import render as render_stage
    from points2sound.pipeline.stages import split as split_stage
    from points2sound.pipeline.stages import train as train_stage

    params, root, _, _ = fetched
    split_stage.run(params, root)
    render_stage.run(
        params,
        root,
        root / "ir" / "QU_KEMAR_anechoic_1m.sofa",
        root / "binaural" / "QU_KEMAR_anechoic_1m",
        ["train", "val", "test"],
    )
    render_stage.run(params, root, root / "ir" / "calypso.sofa", root / "binaural" / "calypso", ["test"])
    test_scenes.run(params, root, "QU_KEMAR_anechoic_1m", root / "scenes" / "test_QU_KEMAR_anechoic_1m")
    test_scenes.run(params, root, "calypso", root / "scenes" / "test_calypso")
    table = pd.read_csv(root / "scenes" / "test_calypso" / "scenes.csv")
    assert len(table) >= 1
    # the training half: a few iterations on the fetched shapes, then one variant
    out = root.parent / "models"
    pretrain_vision.run(params, root / "shapes", out / "pretrain", out / "pretrain_live", out / "ckpt", 1, None)
    assert (out / "pretrain" / "model.pt").is_file()
    variant = next(iter(params["variants"]))
    train_stage.run(
        params,
        variant,
        root,
        out / "pretrain" / "model.pt",
        out / variant,
        out / f"{variant}_live",
        out / f"ckpt_{variant}",
        1,
        None,
    )
    assert (out / variant / "model.pt").is_file()


# ---------------------------------------------------------------- failures


def test_checksum_mismatch_of_a_list_stops_with_nothing_kept(site, tmp_path):
    srv, params = site
    bad = json.loads(json.dumps(params))
    bad["sources"]["music_solos"]["lists"][0]["sha256"] = "1" * 64
    with pytest.raises(InputFileError, match="1" * 64):
        fetch_source(bad, "music_solos", tmp_path / "root", tmp_path / "cache")
    assert not (tmp_path / "root" / "audio").exists()
    assert not list((tmp_path / "cache").rglob("MUSIC_solo.json*"))


def test_axes_are_checked_and_fixed(site, tmp_path):
    srv, params = site
    zup = clouds_zip(up_axis=2)
    srv.add("/api/records/999/files/zup.zip/content", zup)
    srv.add("/api/records/999", zenodo_record_json(srv.base, 999, {"zup.zip": zup}))
    p = json.loads(json.dumps(params))
    p["sources"]["points2sound_clouds"]["zenodo_record"] = 999
    with pytest.raises(InputFileError, match="paper's axes"):
        fetch_source(p, "points2sound_clouds", tmp_path / "a", tmp_path / "cache")
    p["sources"]["points2sound_clouds"]["axes"] = "fix"
    man = fetch_source(p, "points2sound_clouds", tmp_path / "b", tmp_path / "cache")
    assert man["axes"]["converted"]["cello/person_1"] == "z-up -> y-up"
    from points2sound.geometry.pointcloud import read_ply

    xyz = read_ply(tmp_path / "b" / "frames" / "cello" / "person_1" / "00000.ply").xyz
    ext = np.ptp(xyz, axis=0)
    assert np.argmax(ext) == 1


def test_archive_with_parent_member_is_refused(site, tmp_path):
    from points2sound.data.sources.extract import UnsafeArchiveError
    from test_download_server import zip_bytes

    srv, params = site
    evil = modelnet_zip({"ModelNet40/../../evil.off": b"OFF\n0 0 0\n"})
    srv.add("/evil/ModelNet40.zip", evil)
    p = json.loads(json.dumps(params))
    p["sources"]["modelnet40"]["url"] = srv.base + "/evil/ModelNet40.zip"
    with pytest.raises(UnsafeArchiveError, match=r"\.\."):
        fetch_source(p, "modelnet40", tmp_path / "root", tmp_path / "cache")
    assert not (tmp_path / "root" / "shapes").exists() and not list(tmp_path.rglob("evil.off"))
    assert zip_bytes  # imported for symmetry with the other archive tests


def test_offline_fetch_names_the_url_and_manual_steps_then_accepts_placed_files(site, tmp_path):
    srv, params = site
    p = json.loads(json.dumps(params))
    url = down_url("/kemar/QU_KEMAR_anechoic_1m.sofa")
    p["sources"]["kemar"]["urls"] = [url]
    p["sources"]["retries"] = 0
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError) as err:
        fetch_source(p, "kemar", tmp_path / "root", cache)
    msg = str(err.value)
    placed = cache / "kemar" / "QU_KEMAR_anechoic_1m.sofa"
    assert url in msg and str(placed) in msg and "place it at" in msg
    # the user downloads it elsewhere and places it: verified against the pinned digest, then used
    body = srv.files["/kemar/QU_KEMAR_anechoic_1m.sofa"]
    placed.parent.mkdir(parents=True, exist_ok=True)
    placed.write_bytes(body)
    p["sources"]["kemar"]["sha256"] = sha256(body)
    man = fetch_source(p, "kemar", tmp_path / "root", cache)
    assert man["files"]["QU_KEMAR_anechoic_1m.sofa"]["sha256"] == sha256(body)


def test_cli_offline_message_and_status(site, tmp_path):
    srv, params = site
    import yaml

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["profile"] = "paper"
    raw["sources"]["kemar"]["urls"] = [down_url("/QU_KEMAR_anechoic_1m.sofa")]
    raw["sources"]["retries"] = 0
    pfile = tmp_path / "params.yaml"
    pfile.write_text(yaml.safe_dump(raw))
    cmd = [
        sys.executable,
        "-m",
        "points2sound",
        "data",
        "fetch",
        "kemar",
        "--params",
        str(pfile),
        "--dataset",
        str(tmp_path / "data"),
        "--cache",
        str(tmp_path / "dl"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "could not download QU_KEMAR_anechoic_1m.sofa" in proc.stderr and "place it at" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "points2sound",
            "data",
            "status",
            "--params",
            str(pfile),
            "--dataset",
            str(tmp_path / "data"),
            "--cache",
            str(tmp_path / "dl"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and "kemar" in proc.stdout and "missing" in proc.stdout


def test_paper_profile_dry_run_lists_the_fetch_rules(tmp_path):
    snakemake = Path(sys.executable).parent / "snakemake"
    proc = subprocess.run(
        [str(snakemake), "-n", "--quiet", "rules", "--config", "profile=paper"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    for rule in (
        "fetch_music_solos",
        "fetch_points2sound_clouds",
        "fetch_modelnet40",
        "fetch_kemar",
        "fetch_room",
        "split",
        "render_hrir",
        "render_room",
        "test_scenes_hrir",
        "test_scenes_room",
    ):
        assert rule in out, rule
    for rule in ("embed_audio", "embed_frames", "embed_shapes", "make_hrir"):
        assert rule not in out.split("Job stats")[-1], rule
