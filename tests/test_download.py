"""Downloads and extraction against a loopback HTTP server: resume, retry, checksums, offline, archives."""

from __future__ import annotations

import io
import tarfile
import urllib.error

import pytest

from points2sound.data.sources.download import ChecksumError, DownloadError, RemoteFile, download, fetch, verify_file
from points2sound.data.sources.extract import UnsafeArchiveError, iter_members, safe_extract
from points2sound.settings.sources import FetchOptions
from test_download_server import down_url, sha256, zip_bytes

BODY = bytes(range(256)) * 400  # 100 kB


def _no_sleep(_):
    pass


def _opts(**changes) -> FetchOptions:
    """The base params.yaml fetch options, with `changes`."""
    base = dict(retries=5, backoff_s=1.0, timeout_s=60.0, zenodo_api="https://zenodo.org/api/records", profile="tiny")
    return FetchOptions(**{**base, **changes})


def test_download_verifies_and_renames(server, tmp_path):
    url = server.add("/data.bin", BODY)
    dest = tmp_path / "data.bin"
    assert download(url, dest, _opts(), f"sha256:{sha256(BODY)}", size=len(BODY), sleep=_no_sleep) == sha256(BODY)
    assert dest.read_bytes() == BODY
    assert not (tmp_path / "data.bin.part").exists()


def test_dropped_connection_is_resumed_with_range(server, tmp_path):
    url = server.add("/big.bin", BODY)
    server.drop_once.add("/big.bin")
    dest = tmp_path / "big.bin"
    download(url, dest, _opts(retries=3, backoff_s=0.0), sha256(BODY), sleep=_no_sleep)
    assert dest.read_bytes() == BODY
    ranges = [r for _, _, r in server.hits("/big.bin")]
    assert ranges[0] is None and ranges[1] == f"bytes={len(BODY) // 2}-"  # resumed, not restarted


def test_server_ignoring_ranges_restarts_cleanly(server, tmp_path):
    url = server.add("/norange.bin", BODY)
    server.drop_once.add("/norange.bin")
    server.no_range.add("/norange.bin")
    dest = tmp_path / "norange.bin"
    download(url, dest, _opts(retries=3, backoff_s=0.0), sha256(BODY), sleep=_no_sleep)
    assert dest.read_bytes() == BODY


def test_partial_file_from_an_earlier_run_is_resumed(server, tmp_path):
    url = server.add("/resume.bin", BODY)
    dest = tmp_path / "resume.bin"
    (tmp_path / "resume.bin.part").write_bytes(BODY[:1000])
    download(url, dest, _opts(), sha256(BODY), sleep=_no_sleep)
    assert dest.read_bytes() == BODY
    assert server.hits("/resume.bin")[0][2] == "bytes=1000-"


def test_transient_errors_are_retried_with_backoff(server, tmp_path):
    url = server.add("/flaky.bin", BODY)
    server.fail_times["/flaky.bin"] = 2
    delays = []
    download(url, tmp_path / "flaky.bin", _opts(retries=3, backoff_s=0.5), sha256(BODY), sleep=delays.append)
    assert delays == [0.5, 1.0]


def test_checksum_mismatch_keeps_nothing(server, tmp_path):
    url = server.add("/bad.bin", BODY)
    dest = tmp_path / "bad.bin"
    with pytest.raises(ChecksumError) as err:
        download(url, dest, _opts(), "sha256:" + "0" * 64, sleep=_no_sleep)
    msg = str(err.value)
    assert str(dest) in msg and url in msg and "0" * 64 in msg and sha256(BODY) in msg
    assert list(tmp_path.iterdir()) == []


def test_missing_file_is_not_retried(server, tmp_path):
    with pytest.raises(urllib.error.HTTPError):
        download(server.base + "/nope.bin", tmp_path / "nope.bin", _opts(), sleep=_no_sleep)
    assert len(server.hits("/nope.bin")) == 1


def test_server_down_names_the_url_and_the_manual_steps(tmp_path):
    url = down_url("/ModelNet40.zip")
    remote = RemoteFile("ModelNet40.zip", (url,), checksum=f"sha256:{'a' * 64}")
    dest = tmp_path / "cache" / "ModelNet40.zip"
    with pytest.raises(DownloadError) as err:
        fetch(remote, dest, _opts(retries=1, backoff_s=0.0, timeout_s=2.0), sleep=_no_sleep)
    msg = str(err.value)
    assert url in msg and str(dest) in msg and "place it at" in msg and "a" * 64 in msg
    assert not dest.exists()


def test_mirrors_are_tried_in_order(server, tmp_path):
    good = server.add("/mirror.bin", BODY)
    remote = RemoteFile("mirror.bin", (down_url(), server.base + "/gone.bin", good), checksum=sha256(BODY))
    fetch(remote, tmp_path / "mirror.bin", _opts(retries=0, timeout_s=2.0), sleep=_no_sleep)
    assert (tmp_path / "mirror.bin").read_bytes() == BODY


def test_hand_placed_file_is_verified_and_used_offline(tmp_path):
    dest = tmp_path / "placed.bin"
    dest.write_bytes(BODY)
    remote = RemoteFile("placed.bin", (down_url(),), checksum=sha256(BODY))
    assert fetch(remote, dest, _opts(retries=0), sleep=_no_sleep) == sha256(BODY)
    dest.write_bytes(BODY[:-1])
    with pytest.raises(ChecksumError, match="placed.bin"):
        fetch(remote, dest, _opts(retries=0), sleep=_no_sleep)


def test_zenodo_mirror_uses_the_published_md5(server, tmp_path):
    from test_download_server import zenodo_record_json

    server.add("/api/records/55418/files/QU_KEMAR_anechoic_1m.sofa/content", BODY)
    server.add("/api/records/55418", zenodo_record_json(server.base, 55418, {"QU_KEMAR_anechoic_1m.sofa": BODY}))
    remote = RemoteFile("QU_KEMAR_anechoic_1m.sofa", ("zenodo:55418/*1m.sofa",))
    fetch(remote, tmp_path / "k.sofa", _opts(zenodo_api=server.base + "/api/records"), sleep=_no_sleep)
    assert (tmp_path / "k.sofa").read_bytes() == BODY
    server.files["/api/records/55418/files/QU_KEMAR_anechoic_1m.sofa/content"] = BODY[:-1] + b"x"
    with pytest.raises(ChecksumError, match="md5"):
        fetch(remote, tmp_path / "k2.sofa", _opts(zenodo_api=server.base + "/api/records"), sleep=_no_sleep)


def test_verify_file_reports_size(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    with pytest.raises(ChecksumError, match="3 bytes, expected 4"):
        verify_file(p, None, size=4)


# ---------------------------------------------------------------- extraction


def test_safe_extract_writes_the_members(tmp_path):
    arc = tmp_path / "a.zip"
    arc.write_bytes(zip_bytes({"top/x.txt": b"x", "top/sub/y.txt": b"y"}))
    names = safe_extract(arc, tmp_path / "out")
    assert sorted(names) == ["top/sub/y.txt", "top/x.txt"]
    assert (tmp_path / "out" / "top" / "sub" / "y.txt").read_bytes() == b"y"


@pytest.mark.parametrize("name", ["../evil.txt", "top/../../evil.txt", "/etc/evil.txt", "C:/evil.txt"])
def test_zip_members_escaping_the_folder_are_refused(tmp_path, name):
    arc = tmp_path / "evil.zip"
    arc.write_bytes(zip_bytes({"ok.txt": b"ok", name: b"evil"}))
    with pytest.raises(UnsafeArchiveError, match="refusing"):
        safe_extract(arc, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.txt").exists()


def test_zip_symlink_out_of_the_folder_is_refused(tmp_path):
    arc = tmp_path / "link.zip"
    arc.write_bytes(zip_bytes({"ok.txt": b"ok"}, symlinks={"link": "../../etc/passwd"}))
    with pytest.raises(UnsafeArchiveError, match="links outside"):
        list(iter_members(arc))


def _tar(tmp_path, add) -> object:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        add(tf)
    p = tmp_path / "a.tar.gz"
    p.write_bytes(buf.getvalue())
    return p


def test_tar_links_escaping_are_refused_and_inner_links_skipped(tmp_path):
    def regular(tf, name, data=b"d"):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))

    def escaping(tf):
        regular(tf, "d/a.txt")
        link = tarfile.TarInfo("d/passwd")
        link.type, link.linkname = tarfile.SYMTYPE, "../../etc/passwd"
        tf.addfile(link)

    with pytest.raises(UnsafeArchiveError, match="links outside"):
        safe_extract(_tar(tmp_path, escaping), tmp_path / "out")

    def inner(tf):
        regular(tf, "d/a.txt")
        link = tarfile.TarInfo("d/b.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "a.txt"
        tf.addfile(link)

    assert safe_extract(_tar(tmp_path, inner), tmp_path / "out2") == ["d/a.txt"]
    assert not (tmp_path / "out2" / "d" / "b.txt").exists()
