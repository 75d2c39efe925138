"""Mono recordings: MUSIC and Solos solo performances (YouTube), fetched with yt-dlp.

The published JSON lists of YouTube IDs (MUSIC: {"videos": {category: [ids]}},
Solos: {category: [ids]}) are downloaded and verified against pinned sha256
digests. Per instrument, the IDs of every list whose category maps to it
(`categories`) are merged without duplicates and put in a seeded order; videos are
then taken in that order: each is downloaded with yt-dlp (best audio), decoded by
the ffmpeg binary shipped in imageio-ffmpeg to mono float at the profile's sample
rate, and cut into recordings of `recording_s` seconds (a shorter tail of at least
`min_recording_s` counts). The first pass takes one recording per video; when the
list runs out before `recordings_per_instrument`, further passes take the next
segment of the videos already downloaded (at most `max_segments_per_video`).
Videos that are gone (private, removed, an HTTP 404) are skipped, listed in the
manifest and replaced by the next ones; a network that cannot be reached at all
stops the fetch with the manual steps.

Written: data/<profile>/audio/<instrument>/yt-<id>-<segment:02d>.wav
Offline: media placed by hand as <cache>/media/<id>.<ext> are used as they are.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from ...atomic import atomic_dir, atomic_path
from ...audio_io import write_wav
from ...errors import InputFileError, ParameterError
from ...settings.sources import FetchOptions, MusicSolosSource, RemoteFile
from .download import DownloadError
from .remote import fetch_remote

log = logging.getLogger(__name__)
NAME = "music_solos"
_GONE = re.compile(
    r"unavailable|private|removed|terminated|not available|copyright|HTTP Error 40[34]|"
    r"does not exist|sign in to confirm your age|members-only|blocked",
    re.IGNORECASE,
)
_OFFLINE = re.compile(
    r"Connection refused|timed out|Name or service not known|Temporary failure in name resolution|"
    r"Network is unreachable|No route to host|getaddrinfo failed|Failed to resolve",
    re.IGNORECASE,
)
MEDIA_SKIP = (".part", ".ytdl", ".json", ".tmp")


def remote_files(cfg: MusicSolosSource) -> list[RemoteFile]:
    return [item.remote for item in cfg.lists]


def targets(cfg: MusicSolosSource, root: Path) -> list[Path]:
    return [root / "audio"]


def ffmpeg_exe() -> str:
    """The ffmpeg binary: $POINTS2SOUND_FFMPEG, else the one shipped in imageio-ffmpeg."""
    exe = os.environ.get("POINTS2SOUND_FFMPEG")
    if exe:
        return exe
    try:
        import imageio_ffmpeg
    except ImportError:
        raise ParameterError(
            "ffmpeg",
            "imageio-ffmpeg is not installed (pip install imageio-ffmpeg), "
            "or set POINTS2SOUND_FFMPEG to an ffmpeg binary",
        ) from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def read_id_list(path: Path) -> dict[str, list[str]]:
    """Category -> video IDs from a MUSIC ({"videos": {...}}) or Solos ({...}) JSON list."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputFileError(path, f"not a JSON list of videos ({exc})") from exc
    if isinstance(data, dict) and isinstance(data.get("videos"), dict):
        data = data["videos"]
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise InputFileError(path, "expected {category: [video ids]} (Solos) or {'videos': {category: [ids]}} (MUSIC)")
    return {str(k): [str(i) for i in v] for k, v in data.items()}


def candidates(
    lists: Mapping[str, Mapping[str, list[str]]], categories: Mapping[str, list[str]], instrument: str, seed: int
) -> list[tuple[str, list[str]]]:
    """(video id, [list names]) for one instrument: merged, deduplicated, in a seeded order."""
    merged: dict[str, list[str]] = {}
    for list_name, table in lists.items():
        for cat in categories.get(instrument, []):
            for vid in table.get(cat, []):
                merged.setdefault(vid, [])
                if list_name not in merged[vid]:
                    merged[vid].append(list_name)
    ids = sorted(merged)
    order = np.random.default_rng([int(seed), zlib.crc32(instrument.encode())]).permutation(len(ids))
    return [(ids[i], merged[ids[i]]) for i in order]


class _Offline(Exception):
    pass


def _find_media(media_dir: Path, vid: str) -> Path | None:
    for p in sorted(media_dir.glob(f"{glob_escape(vid)}.*")):
        if p.is_file() and not p.name.endswith(MEDIA_SKIP):
            return p
    return None


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def download_media(vid: str, url: str, media_dir: Path, opts: FetchOptions) -> Path:
    """The video's audio in the cache (downloaded with yt-dlp unless already there)."""
    found = _find_media(media_dir, vid)
    if found:
        return found
    import yt_dlp

    media_dir.mkdir(parents=True, exist_ok=True)
    ydl_opts = {
        "format": "bestaudio/best",
        "outtmpl": str(media_dir / f"{vid}.%(ext)s"),
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "noplaylist": True,
        "retries": int(opts.retries),
        "fragment_retries": int(opts.retries),
        "socket_timeout": float(opts.timeout_s),
        "cachedir": False,
        "continuedl": True,
        "logger": _YdlLogger(),
    }
    deno = _deno_bin()
    if deno:  # YouTube's player needs a JavaScript runtime; the registry ships Deno (pip install deno)
        ydl_opts["js_runtimes"] = {"deno": {"path": deno}}
    try:
        with yt_dlp.YoutubeDL(ydl_opts) as ydl:
            ydl.extract_info(url, download=True)
    except yt_dlp.utils.DownloadError as exc:
        msg = str(exc)
        if _OFFLINE.search(msg) and not _GONE.search(msg):
            raise _Offline(msg) from None
        raise LookupError(re.sub(r"^ERROR:\s*", "", msg).strip()) from None
    found = _find_media(media_dir, vid)
    if not found:
        raise LookupError("yt-dlp finished without a media file")
    return found


def _deno_bin() -> str | None:
    try:
        from deno import find_deno_bin

        return str(find_deno_bin())
    except Exception:  # not installed: yt-dlp looks for a runtime on PATH itself
        return None


class _YdlLogger:
    def debug(self, msg):
        log.debug("yt-dlp: %s", msg)

    def info(self, msg):
        log.debug("yt-dlp: %s", msg)

    def warning(self, msg):
        log.debug("yt-dlp: %s", msg)

    def error(self, msg):
        log.debug("yt-dlp: %s", msg)


def decode(media: Path, out: Path, sample_rate: int, max_s: float) -> Path:
    """Mono float WAV at `sample_rate` of the media's first `max_s` seconds (cached)."""
    if out.is_file():
        return out
    with atomic_path(out) as tmp:
        cmd = [
            ffmpeg_exe(),
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-i",
            str(media.resolve()),
            "-vn",
            "-t",
            f"{max_s:.3f}",
            "-ac",
            "1",
            "-ar",
            str(int(sample_rate)),
            "-c:a",
            "pcm_f32le",
            "-f",
            "wav",
            str(tmp),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ValueError(f"ffmpeg could not decode it: {proc.stderr.strip()[-300:]}")
    return out


def fetch(cfg: MusicSolosSource, options: FetchOptions, root: Path, cache: Path) -> dict[str, Any]:
    if not 0 < cfg.min_recording_s <= cfg.recording_s:
        raise ParameterError(
            f"sources.{NAME}.min_recording_s", f"must be in (0, recording_s], got {cfg.min_recording_s}"
        )
    lists, list_digests = {}, {}
    for item in cfg.lists:
        path = cache / "lists" / item.remote.name
        list_digests[item.name] = {
            "url": item.url,
            "sha256": fetch_remote(options, item.remote, path, NAME, check=read_id_list),
        }
        lists[item.name] = read_id_list(path)
    unknown = [i for i in cfg.instruments if not cfg.categories.get(i)]
    if unknown:
        raise ParameterError(f"sources.{NAME}.categories", f"no list category for {unknown}")
    cut = _Cutter(cfg, cache)
    report: dict[str, Any] = {}
    with atomic_dir(root / "audio") as tmp:
        for inst in cfg.instruments:
            report[inst] = _instrument_recordings(cfg, options, cut, lists, inst, tmp / inst)
    return {
        "urls": [d["url"] for d in list_digests.values()] + [cfg.video_url],
        "record": {k: v["url"] for k, v in list_digests.items()},
        "licence": cfg.licence,
        "files": list_digests,
        "file_count": sum(r["count"] for r in report.values()),
        "total_duration_s": round(sum(r["duration_s"] for r in report.values()), 3),
        "sample_rate": cfg.sample_rate,
        "instruments": report,
        "tools": {"yt_dlp": _version("yt_dlp"), "ffmpeg": ffmpeg_exe_name()},
    }


class _Cutter:
    """Cuts a video's decoded audio into the recordings of one instrument (segment i: from i * recording_s)."""

    def __init__(self, cfg: MusicSolosSource, cache: Path) -> None:
        self.cfg = cfg
        self.media_dir = cache / "media"
        self.decoded_dir = cache / f"decoded_{cfg.sample_rate}_{int(cfg.max_segments_per_video * cfg.recording_s)}s"

    def decode(self, vid: str, media: Path) -> Path:
        cfg = self.cfg
        return decode(
            media, self.decoded_dir / f"{vid}.wav", cfg.sample_rate, cfg.max_segments_per_video * cfg.recording_s
        )

    def take(self, vid: str, wav: Path, frames: int, seg: int, out_dir: Path, recordings: list) -> bool:
        """Write segment `seg` of a video as a recording; False when it is too short or silent."""
        sr, rec_s = self.cfg.sample_rate, self.cfg.recording_s
        start = int(round(seg * rec_s * sr))
        length = min(int(round(rec_s * sr)), frames - start)
        if length < int(round(self.cfg.min_recording_s * sr)):
            return False
        data, _ = sf.read(str(wav), start=start, stop=start + length, dtype="float32", always_2d=False)
        if data.ndim > 1:
            data = data.mean(axis=1)
        if float(np.sqrt(np.mean(np.square(data, dtype=np.float64)))) < 1e-4:
            return False
        name = f"yt-{vid}-{seg:02d}"
        write_wav(out_dir / f"{name}.wav", data, sr, subtype=self.cfg.wav_subtype)
        recordings.append({"recording": name, "video": vid, "segment": seg, "duration_s": length / sr})
        return True


def _instrument_recordings(
    cfg: MusicSolosSource,
    options: FetchOptions,
    cut: _Cutter,
    lists: Mapping[str, Mapping[str, list[str]]],
    inst: str,
    out_dir: Path,
) -> dict[str, Any]:
    """One instrument's recordings: a segment of each video in the seeded order, then further segments."""
    n_wanted = cfg.recordings_per_instrument
    cands = candidates(lists, cfg.categories, inst, cfg.seed)
    skipped: dict[str, str] = {}
    usable: list[tuple[str, Path, int]] = []  # (video id, decoded wav, frames)
    recordings: list[dict[str, Any]] = []
    offline_streak = 0
    for vid, _ in cands:
        if len(recordings) >= n_wanted:
            break
        url = cfg.video_url.format(id=vid)
        try:
            media = download_media(vid, url, cut.media_dir, options)
            offline_streak = 0
            wav = cut.decode(vid, media)
        except _Offline as exc:
            offline_streak += 1
            skipped[vid] = f"unreachable: {exc}"
            if offline_streak >= 3 and not usable:
                raise DownloadError(
                    f"the {inst} videos (yt-dlp)",
                    cut.media_dir / f"{vid}.<ext>",
                    [(url, str(exc).splitlines()[0])],
                    None,
                ) from None
            continue
        except (LookupError, ValueError) as exc:
            skipped[vid] = str(exc).splitlines()[0][:300]
            log.info("%s %s: skipped (%s)", inst, vid, skipped[vid])
            continue
        frames = sf.info(str(wav)).frames
        if cut.take(vid, wav, frames, 0, out_dir, recordings):
            usable.append((vid, wav, frames))
        else:
            skipped[vid] = f"shorter than {cfg.min_recording_s:g} s or silent"
    for seg in range(1, cfg.max_segments_per_video):
        for vid, wav, frames in usable:
            if len(recordings) >= n_wanted:
                break
            cut.take(vid, wav, frames, seg, out_dir, recordings)
    return _instrument_report(inst, recordings, skipped, n_wanted, len(cands), cut.media_dir)


def _instrument_report(
    inst: str, recordings: list[dict[str, Any]], skipped: dict[str, str], n_wanted: int, n_cands: int, media_dir: Path
) -> dict[str, Any]:
    """The manifest entry of one instrument; fewer than 3 recordings stop the fetch."""
    if len(recordings) < 3:
        raise InputFileError(
            media_dir,
            f"only {len(recordings)} recordings for {inst!r} (need at least 3)",
            f"{len(skipped)} videos were skipped; see the log, or place media by hand in {media_dir}",
        )
    if len(recordings) < n_wanted:
        log.warning("%s: %d of %d recordings (the lists ran out)", inst, len(recordings), n_wanted)
    return {
        "recordings": recordings,
        "skipped": skipped,
        "count": len(recordings),
        "shortfall": max(0, n_wanted - len(recordings)),
        "duration_s": sum(r["duration_s"] for r in recordings),
        "candidates": n_cands,
    }


def _version(module: str) -> str | None:
    try:
        if module == "yt_dlp":
            from yt_dlp.version import __version__

            return __version__
    except ImportError:
        return None
    return None


def ffmpeg_exe_name() -> str:
    try:
        return Path(ffmpeg_exe()).name
    except ParameterError:
        return "missing"
