"""A loopback HTTP server for the download tests, the files it serves, and its own checks.

The server (threaded http.server on 127.0.0.1) serves bytes made by the tests in each
source's real format, honours Range requests, and can be told to drop a connection
halfway through a body, to answer 503 a few times, or to ignore ranges. `down_url`
gives an address where nothing listens. Other test_download*.py modules import these.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import socket
import threading
import urllib.request
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # clients hanging up mid-body are part of the tests
        pass


class LoopbackServer:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.types: dict[str, str] = {}
        self.drop_once: set[str] = set()  # first GET sends half the body, then the connection dies
        self.fail_times: dict[str, int] = {}  # answer 503 this many times first
        self.no_range: set[str] = set()  # ignore Range headers (answer 200 with everything)
        self.no_length: set[str] = set()  # send no Content-Length: the body ends when the connection closes
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output clean
                pass

            def _serve(self, head: bool) -> None:
                path = self.path.split("?", 1)[0]
                rng = self.headers.get("Range")
                with server._lock:
                    server.requests.append((self.command, path, rng))
                    fail = server.fail_times.get(path, 0)
                    if fail:
                        server.fail_times[path] = fail - 1
                    drop = path in server.drop_once and not head and not rng
                    if drop:
                        server.drop_once.discard(path)
                if fail:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = server.files.get(path)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = 0
                if rng and path not in server.no_range and rng.startswith("bytes="):
                    start = int(rng[6:].split("-", 1)[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Type", server.types.get(path, "application/octet-stream"))
                self.send_header("Accept-Ranges", "bytes")
                if path in server.no_length:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                if head:
                    return
                if drop:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.wfile.write(body[start:])

            def do_GET(self):
                self._serve(head=False)

            def do_HEAD(self):
                self._serve(head=True)

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(self, path: str, body: bytes, content_type: str | None = None) -> str:
        self.files[path] = body
        if content_type:
            self.types[path] = content_type
        return self.base + path

    def hits(self, path: str) -> list[tuple[str, str, str | None]]:
        return [r for r in self.requests if r[1] == path]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def down_url(path: str = "/file.bin") -> str:
    """An address on loopback where nothing listens (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}{path}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# ---------------------------------------------------------------- files in the sources' real formats


def wav_bytes(seconds: float, sr: int = 22050, channels: int = 2, freq: float = 330.0, seed: int = 0) -> bytes:
    """A small stereo WAV, standing in for a video's audio track (yt-dlp's generic extractor fetches it)."""
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(seed)
    sig = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)
    data = np.stack([sig, 0.5 * sig], axis=1)[:, :channels]
    buf = io.BytesIO()
    sf.write(buf, data, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def ply_bytes(n: int = 200, up_axis: int = 1, height_m: float = 1.6, seed: int = 0, scale: float = 1.0) -> bytes:
    """A binary PLY performer-like cloud: tall along `up_axis`, as Open3D writes them (double xyz, uchar rgb)."""
    from plyfile import PlyData, PlyElement

    rng = np.random.default_rng(seed)
    xyz = rng.uniform(-0.3, 0.3, (n, 3))
    xyz[:, up_axis] = rng.uniform(0.0, height_m, n)
    xyz *= scale
    v = np.empty(n, dtype=[("x", "f8"), ("y", "f8"), ("z", "f8"), ("red", "u1"), ("green", "u1"), ("blue", "u1")])
    v["x"], v["y"], v["z"] = xyz.T
    v["red"], v["green"], v["blue"] = rng.integers(0, 255, (3, n), dtype=np.uint8)
    buf = io.BytesIO()
    PlyData([PlyElement.describe(v, "vertex")], text=False).write(buf)
    return buf.getvalue()


def zip_bytes(members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16
            zf.writestr(info, target)
    return buf.getvalue()


def clouds_zip(performers: dict[str, int] | None = None, frames: int = 2, up_axis: int = 1) -> bytes:
    """A zip laid out like the Zenodo record: <instrument>/person_<k>/<frame>.ply (reference code's names)."""
    performers = performers or {"cello": 3, "doublebass": 3, "guitar": 3, "sax": 3, "violin": 3}
    members = {}
    for inst, n in performers.items():
        for k in range(1, n + 1):
            for f in range(frames):
                members[f"musicians/{inst}/person_{k}/{f:05d}.ply"] = ply_bytes(120, up_axis, seed=k * 10 + f)
    return zip_bytes(members)


def zenodo_record_json(base: str, record: int, files: dict[str, bytes], licence: str = "cc-by-4.0") -> bytes:
    entries = [
        {
            "key": k,
            "size": len(v),
            "checksum": f"md5:{md5(v)}",
            "links": {"self": f"{base}/api/records/{record}/files/{k}/content"},
        }
        for k, v in files.items()
    ]
    return json.dumps(
        {"id": record, "metadata": {"title": "test record", "license": {"id": licence}}, "files": entries}
    ).encode()


CUBE_OFF = """OFF
8 6 0
-1 -1 -1
1 -1 -1
1 1 -1
-1 1 -1
-1 -1 1
1 -1 1
1 1 1
-1 1 1
4 0 1 2 3
4 4 5 6 7
4 0 1 5 4
4 2 3 7 6
4 1 2 6 5
4 0 3 7 4
"""

# ModelNet40's known defect: the keyword runs into the counts on the first line
MALFORMED_OFF = """OFF4 4 0
0 0 0
1 0 0
0 1 0
0 0 1
3 0 1 2
3 0 1 3
3 0 2 3
3 1 2 3
"""


def modelnet_zip(extra: dict[str, bytes] | None = None) -> bytes:
    members = {}
    for cls in ("chair", "bottle"):
        for split, n in (("train", 3), ("test", 1)):
            for i in range(n):
                text = MALFORMED_OFF if (cls == "bottle" and i == 0) else CUBE_OFF
                members[f"ModelNet40/{cls}/{split}/{cls}_{split}_{i:04d}.off"] = text.encode()
    members["ModelNet40/README.txt"] = b"test archive"
    members.update(extra or {})
    return zip_bytes(members)


def hrir_sofa_bytes(tmp: Path, sr: int = 44100, taps: int = 64) -> bytes:
    """A SimpleFreeFieldHRIR file like QU_KEMAR_anechoic_1m.sofa: 360 azimuths, 1 m, 2 ears."""
    from points2sound.render.sofa_io import write_hrir_sofa

    az = np.arange(360.0)
    irs = np.zeros((360, 2, taps))
    for i, a in enumerate(az):  # a crude ILD: louder on the source's side
        gain = np.sin(np.deg2rad(a))
        irs[i, 0, 2] = 1.0 + 0.5 * gain
        irs[i, 1, 2] = 1.0 - 0.5 * gain
    path = tmp / "QU_KEMAR_anechoic_1m.sofa"
    write_hrir_sofa(path, irs, sr, az, 1.0, name="QU_KEMAR_anechoic_1m", comment="test")
    return path.read_bytes()


def twoears_brir_bytes(
    tmp: Path, name: str, sr: int = 44100, taps: int = 128, emitters_deg=(30.0, 0.0, -30.0)
) -> bytes:
    """A Two!Ears-style MultiSpeakerBRIR: head -90..90 deg in 1 deg steps, several loudspeakers (M x R x E x N)."""
    import netCDF4

    yaw = np.arange(-90.0, 91.0)
    m, e = yaw.size, len(emitters_deg)
    path = tmp / name
    with netCDF4.Dataset(str(path), "w", format="NETCDF4") as ds:
        ds.Conventions = "SOFA"
        ds.Version = "0.6"
        ds.SOFAConventions = "MultiSpeakerBRIR"
        ds.SOFAConventionsVersion = "0.1"
        ds.DataType = "FIR-E"
        ds.RoomType = "reverberant"
        for dim, size in (("I", 1), ("C", 3), ("R", 2), ("E", e), ("N", taps), ("M", m)):
            ds.createDimension(dim, size)
        irs = np.zeros((m, 2, e, taps))
        for k in range(len(emitters_deg)):
            irs[:, 0, k, 3 + k] = 1.0 + 0.01 * yaw  # marks: the emitter in the delay, the head yaw in the gain
            irs[:, 1, k, 3 + k] = 1.0 - 0.01 * yaw
        ds.createVariable("Data.IR", "f8", ("M", "R", "E", "N"))[:] = irs
        ds.createVariable("Data.SamplingRate", "f8", ("I",))[:] = sr
        ds.createVariable("Data.Delay", "f8", ("I", "R", "E"))[:] = 0.0
        lp = ds.createVariable("ListenerPosition", "f8", ("I", "C"))
        lp[:] = [[0.0, 0.0, 0.0]]
        lp.Type, lp.Units = "cartesian", "metre"
        lv = ds.createVariable("ListenerView", "f8", ("M", "C"))
        lv[:] = np.stack([yaw, np.zeros(m), np.ones(m)], axis=1)
        lv.Type, lv.Units = "spherical", "degree, degree, metre"
        sp = ds.createVariable("SourcePosition", "f8", ("I", "C"))
        sp[:] = [[0.0, 0.0, 0.0]]
        sp.Type, sp.Units = "cartesian", "metre"
        ep = ds.createVariable("EmitterPosition", "f8", ("E", "C", "I"))
        ep[:] = np.stack([[2 * np.cos(np.deg2rad(a)), 2 * np.sin(np.deg2rad(a)), 0.0] for a in emitters_deg])[
            :, :, None
        ]
        ep.Type, ep.Units = "cartesian", "metre"
        rp = ds.createVariable("ReceiverPosition", "f8", ("R", "C", "I"))
        rp[:] = np.array([[0.0, 0.09, 0.0], [0.0, -0.09, 0.0]])[:, :, None]
        rp.Type, rp.Units = "cartesian", "metre"
    return path.read_bytes()


# ---------------------------------------------------------------- the server itself


def test_server_serves_ranges_and_drops(server):
    url = server.add("/a.bin", bytes(range(200)))
    req = urllib.request.Request(url, headers={"Range": "bytes=150-"})
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 206 and r.read() == bytes(range(150, 200))
    server.drop_once.add("/a.bin")
    with pytest.raises((OSError, http.client.HTTPException)):  # the dropped connection
        with urllib.request.urlopen(url, timeout=5) as r:
            r.read()
    with pytest.raises(OSError):
        urllib.request.urlopen(down_url(), timeout=5)
