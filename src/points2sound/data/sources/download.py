"""HTTP downloads for the real data sources: resumable, retried, verified, atomic.

A download goes to `<dest>.part` and is renamed onto `<dest>` only after its size
and checksum check out, so a finished-looking file is always a verified one. Where
no checksum is published (`sha256: null`), the file is checked for its format
instead (the source's `check`: the SOFA set opens with the renderer's reader, the
archive lists) and its size against the server's Content-Length; its sha256 is
recorded in the manifest, and the log says "unpinned", never "verified". An
interrupted transfer (a dropped connection, a killed process) is resumed from the
`.part` file with an HTTP Range request; a server that ignores the range restarts it.

When no mirror can be reached, DownloadError says which URLs failed and how to
place the file by hand: a file already at `<dest>` (placed by hand, or downloaded
before) is verified against the pinned checksum and then used without the network.
"""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import http.client
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ...atomic import NoSpaceError
from ...errors import InputFileError, Points2SoundError
from ...settings.sources import FetchOptions, RemoteFile
from .extract import UnsafeArchiveError

log = logging.getLogger(__name__)

CHUNK = 1 << 16
USER_AGENT = "points2sound-data/0.1 (+reproduction of Points2Sound)"
ZENODO_SCHEME = "zenodo:"


class DownloadError(Points2SoundError):
    """No mirror of a file could be downloaded; the message says how to place it by hand."""

    def __init__(self, what: str, dest: str | Path, failures: Sequence[tuple[str, str]], checksum: str | None = None):
        self.dest = Path(dest)
        self.failures = list(failures)
        lines = [f"could not download {what}:"]
        lines += [f"  {url}: {why}" for url, why in failures]
        lines.append("To fetch it by hand: download it from one of the addresses above on a machine with internet,")
        lines.append(f"place it at {self.dest}" + (f" (expected {checksum})" if checksum else "") + ",")
        lines.append(
            "and rerun the command (or `points2sound data fetch <source>`): a placed file is verified and used."
        )
        super().__init__("\n".join(lines))


class ChecksumError(InputFileError):
    """A downloaded or placed file does not match its published or pinned checksum."""


class FormatError(InputFileError):
    """A downloaded or placed file that does not hold what its source should (checked where no checksum is pinned)."""


Check = Callable[[Path], None]  # raises (InputFileError, ...) when a file is not what its source should hold


class _Retryable(Exception):
    """A transient failure: the attempt may be repeated."""


@dataclass(frozen=True)
class Checksum:
    """A digest such as 'sha256:<hex>' or 'md5:<hex>' (Zenodo publishes md5)."""

    algorithm: str
    hexdigest: str

    @classmethod
    def parse(cls, value: str | None) -> Checksum | None:
        if not value:
            return None
        algo, _, digest = str(value).partition(":")
        if not digest:  # a bare hex string is a sha256
            algo, digest = "sha256", algo
        algo = algo.lower()
        if algo not in hashlib.algorithms_available:
            raise ValueError(f"unknown checksum algorithm {algo!r} in {value!r}")
        return cls(algo, digest.lower())

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hexdigest}"


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_file(
    path: str | Path, checksum: Checksum | str | None, size: int | None = None, source: str | None = None
) -> str:
    """Check a file's size and checksum; return its sha256. Raises ChecksumError naming both digests."""
    path = Path(path)
    if isinstance(checksum, str) or checksum is None:
        checksum = Checksum.parse(checksum)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    actual_size = path.stat().st_size
    where = f" (from {source})" if source else ""
    if size is not None and actual_size != int(size):
        raise ChecksumError(
            path,
            f"has {actual_size} bytes, expected {size}{where}",
            "the file is truncated or a different version; delete it and fetch it again",
        )
    sha = file_digest(path, "sha256")
    if checksum is not None:
        got = sha if checksum.algorithm == "sha256" else file_digest(path, checksum.algorithm)
        if got != checksum.hexdigest:
            raise ChecksumError(
                path,
                f"{checksum.algorithm} is {got}, expected {checksum.hexdigest}{where}",
                "the file is corrupt or a different version; delete it and fetch it again",
            )
    return sha


def _open(url: str, headers: Mapping[str, str], timeout: float):
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **headers})
    return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 (http/https only, checked by the caller)


def _range_total(value: str | None) -> int | None:
    """The full size from a Content-Range header ('bytes 0-99/1234' or 'bytes */1234')."""
    total = (value or "").rpartition("/")[2].strip()
    return int(total) if total.isdigit() else None


def _write(f: IO[bytes], block: bytes, part: Path) -> None:
    """Write a block of the transfer; a full disk is NoSpaceError, not a network fault to retry five times."""
    try:
        f.write(block)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise NoSpaceError(
                part,
                "no space left on device" if exc.errno == errno.ENOSPC else "disk quota exceeded",
                "the partial download is kept: free some space and rerun to resume",
            ) from exc
        raise


def _attempt(url: str, part: Path, timeout: float, progress: Callable[[int, int | None], None] | None) -> int | None:
    """One transfer into `part`, resuming from its current size; returns the server's full size when it told.

    Raises _Retryable on transient failures."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        resp = _open(url, headers, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the range starts at the end: the partial file may be complete
            raise _RangeNotSatisfiable(_range_total(exc.headers.get("Content-Range"))) from exc
        if exc.code in (408, 425, 429) or exc.code >= 500:
            raise _Retryable(f"HTTP {exc.code} {exc.reason}") from exc
        raise  # 4xx: the address is wrong, no point retrying
    except (TimeoutError, urllib.error.URLError, ConnectionError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Retryable(f"{type(exc).__name__}: {reason}") from exc
    with resp:
        status = getattr(resp, "status", 200)
        if have and status != 206:
            log.info("%s: server ignored the range request, restarting", url)
            have = 0
        length = resp.headers.get("Content-Length")
        expected_total = have + int(length) if length is not None else None
        if have:
            expected_total = _range_total(resp.headers.get("Content-Range")) or expected_total
        mode = "ab" if have else "wb"
        got = have
        try:
            with open(part, mode) as f:
                while True:
                    block = resp.read(CHUNK)
                    if not block:
                        break
                    _write(f, block, part)
                    got += len(block)
                    if progress:
                        progress(got, expected_total)
        except (TimeoutError, ConnectionError, http.client.HTTPException, OSError) as exc:
            raise _Retryable(f"connection lost after {got} bytes ({type(exc).__name__}: {exc})") from exc
        if expected_total is not None and got < expected_total:
            raise _Retryable(f"connection closed after {got} of {expected_total} bytes")
    return expected_total


class _RangeNotSatisfiable(Exception):
    def __init__(self, total: int | None):
        super().__init__(total)
        self.total = total


def _problem(exc: BaseException) -> str:
    if isinstance(exc, InputFileError):
        return exc.problem
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


def check_format(path: Path, check: Check | None, as_name: str | None = None) -> None:
    """Run a source's format check on `path`; FormatError (naming `as_name` or `path`) when it fails.

    Readers pick formats from names (sofar reads `<name>.sofa` whatever it is given),
    so a `.part` file is checked under a temporary name that ends like the final one.
    """
    if check is None:
        return
    target = Path(as_name) if as_name else path
    try:
        check(path)
    except Exception as exc:  # noqa: BLE001 (a format check may fail in any reader's own way)
        kind = f".{target.suffix.lstrip('.')} file" if target.suffix else "file"
        raise FormatError(target, f"is not a usable {kind} ({_problem(exc)})") from exc


def _check_part(part: Path, dest: Path, check: Check | None, url: str) -> None:
    """Check a finished `.part` under a name ending like `dest`; nothing is kept when it fails."""
    if check is None:
        return
    view = dest.with_name(f".check.{dest.name}")
    os.replace(part, view)
    try:
        check_format(view, check, str(dest))
    except FormatError as exc:
        view.unlink(missing_ok=True)
        cause = exc.__cause__
        if isinstance(cause, UnsafeArchiveError):  # refused before it is ever extracted: keep its kind
            raise UnsafeArchiveError(
                dest,
                f"the file downloaded from {url}: {cause.problem}",
                "nothing was kept; the archive is corrupt or malicious",
            ) from None
        problem = exc.problem.replace(str(view), str(dest))  # readers quote the name they were given
        raise FormatError(
            dest,
            f"the file downloaded from {url} {problem}",
            "nothing was kept; the server sent a truncated or different file: check the address, "
            "or place a good copy there by hand",
        ) from None
    os.replace(view, part)


def download(
    url: str,
    dest: str | Path,
    options: FetchOptions,
    checksum: Checksum | str | None = None,
    size: int | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    check: Check | None = None,
) -> str:
    """Download one URL to `dest` (resumable, retried with exponential back-off, verified, atomic).

    Returns the file's sha256. Raises ChecksumError (nothing kept) on a mismatch of the
    checksum or of the size (given, or the server's), FormatError (nothing kept) when
    `check` refuses the file, urllib.error.HTTPError for a 4xx answer, and _Retryable's
    message as DownloadError after `options.retries` failed attempts.
    """
    dest = Path(dest)
    if isinstance(checksum, str) or checksum is None:
        checksum = Checksum.parse(checksum)
    if not url.startswith(("http://", "https://")):
        raise DownloadError(dest.name, dest, [(url, "only http and https addresses are supported")])
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    dest.with_name(f".check.{dest.name}").unlink(missing_ok=True)  # left by a run killed while checking
    retries, last = options.retries, ""
    for attempt in range(int(retries) + 1):
        if attempt:
            delay = float(options.backoff_s) * 2 ** (attempt - 1)
            log.warning("%s: %s; retry %d/%d in %.1f s", url, last, attempt, retries, delay)
            sleep(delay)
        try:
            server_size = _attempt(url, part, options.timeout_s, progress)
        except _Retryable as exc:
            last = str(exc)
            continue
        except _RangeNotSatisfiable as exc:
            server_size = exc.total  # the partial file may already hold everything: verify it below
        sha = _verify_part(part, dest, checksum, size if size is not None else server_size, url)
        _check_part(part, dest, check, url)
        os.replace(part, dest)
        _log_downloaded(url, dest, checksum, check, sha)
        return sha
    raise _GaveUp(last)


def _verify_part(part: Path, dest: Path, checksum: Checksum | None, size: int | None, url: str) -> str:
    """The sha256 of a finished `.part`; a mismatch deletes it and is a ChecksumError naming `dest`."""
    try:
        return verify_file(part, checksum, size, source=url)
    except ChecksumError as exc:
        part.unlink(missing_ok=True)
        raise ChecksumError(
            dest,
            exc.problem,
            "nothing was kept; the server may hold another version — "
            "check the source, or place a verified copy by hand",
        ) from None


def _log_downloaded(url: str, dest: Path, checksum: Checksum | None, check: Check | None, sha: str) -> None:
    if checksum is not None:
        log.info("downloaded %s -> %s (verified: %s)", url, dest, checksum)
    else:
        log.info(
            "downloaded %s -> %s (unpinned: %s, sha256 %s recorded)",
            url,
            dest,
            "format checked" if check else "no checksum published",
            sha,
        )


class _GaveUp(Exception):
    pass


# ---------------------------------------------------------------- Zenodo


def zenodo_record(record: int | str, api: str, timeout_s: float) -> dict[str, Any]:
    """The metadata of a Zenodo record from its REST API (files with md5 checksums, licence)."""
    url = f"{api.rstrip('/')}/{record}"
    try:
        with _open(url, {"Accept": "application/json"}, timeout_s) as resp:
            return json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise DownloadError(
            f"Zenodo record {record}", f"<cache>/zenodo-{record}", [(url, f"HTTP {exc.code} {exc.reason}")]
        ) from None
    except (TimeoutError, urllib.error.URLError, ConnectionError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"Zenodo record {record}", f"<cache>/zenodo-{record}", [(url, str(reason))]) from None


def zenodo_files(meta: Mapping[str, Any], record: int | str, api: str, pattern: str = "*") -> list[RemoteFile]:
    """The record's files whose key matches a glob pattern, with their published md5 and size."""
    licence = meta.get("metadata", {}).get("license")
    if isinstance(licence, Mapping):
        licence = licence.get("id") or licence.get("title")
    entries = meta.get("files") or []
    if isinstance(entries, Mapping):  # newer API: {"entries": {key: {...}}} or a list
        entries = list((entries.get("entries") or {}).values()) if "entries" in entries else []
    out = []
    for entry in entries:
        key = entry.get("key") or entry.get("filename")
        if not key or not fnmatch.fnmatch(key, pattern):
            continue
        links = entry.get("links") or {}
        url = links.get("content") or links.get("self") or links.get("download")
        if not url:
            url = f"{api.rstrip('/')}/{record}/files/{key}/content"
        checksum = entry.get("checksum")
        out.append(
            RemoteFile(
                name=key,
                urls=(url,),
                checksum=checksum,
                size=entry.get("size"),
                record=f"zenodo:{record}",
                licence=licence,
            )
        )
    return out


def resolve_mirror(url: str, api: str, timeout_s: float) -> tuple[str, str | None, int | None]:
    """Turn 'zenodo:<record>/<key glob>' into a download URL with its published checksum."""
    if not url.startswith(ZENODO_SCHEME):
        return url, None, None
    record, _, pattern = url[len(ZENODO_SCHEME) :].partition("/")
    files = zenodo_files(zenodo_record(record, api, timeout_s), record, api, pattern or "*")
    if len(files) != 1:
        names = ", ".join(f.name for f in files) or "none"
        raise _Retryable(f"Zenodo record {record}: {len(files)} files match {pattern!r} ({names})")
    return files[0].urls[0], files[0].checksum, files[0].size


def fetch(
    remote: RemoteFile,
    dest: str | Path,
    options: FetchOptions,
    sleep: Callable[[float], None] = time.sleep,
    check: Check | None = None,
    refetch: str | None = None,
) -> str:
    """Make `dest` hold the verified file: use a file already there (placed by hand), else try each mirror.

    Returns the sha256. A file already at `dest` that fails verification (its pinned
    checksum or size, else `check`) is an error naming the command that refetches it
    (`refetch`); it is never overwritten silently.
    """
    dest = Path(dest)
    if dest.is_file():
        return _use_present(remote, dest, check, refetch)
    failures: list[tuple[str, str]] = []
    for mirror in remote.urls:
        try:
            url, published, size = resolve_mirror(mirror, options.zenodo_api, options.timeout_s)
        except (DownloadError, _Retryable) as exc:
            failures.append((mirror, str(exc).splitlines()[0] if isinstance(exc, DownloadError) else str(exc)))
            continue
        checksum = remote.checksum or published
        try:
            return download(
                url, dest, options, checksum, remote.size or size, sleep=sleep, check=None if checksum else check
            )
        except urllib.error.HTTPError as exc:
            failures.append((url, f"HTTP {exc.code} {exc.reason}"))
        except _GaveUp as exc:
            failures.append((url, f"gave up after {options.retries + 1} attempts: {exc}"))
    raise DownloadError(remote.name, dest, failures, remote.checksum)


def _use_present(remote: RemoteFile, dest: Path, check: Check | None, refetch: str | None) -> str:
    """The sha256 of a file already at `dest`, checked against its pin (else its format); an error says how to refetch."""
    how = f"delete it and fetch it again: rm {dest} && {refetch}" if refetch else "delete it and fetch it again"
    try:
        sha = verify_file(dest, remote.checksum, remote.size, source="a file already in place")
    except ChecksumError as exc:
        raise ChecksumError(dest, exc.problem, f"the cached copy is corrupt or another version; {how}") from None
    if remote.checksum:
        log.info("%s: already present and verified (%s)", dest, remote.checksum)
        return sha
    try:
        check_format(dest, check)
    except FormatError as exc:
        raise FormatError(dest, exc.problem, f"the cached copy is corrupt; {how}") from None
    log.info("%s: present (unpinned, sha256 %s recorded)", dest, sha)
    return sha
