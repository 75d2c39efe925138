"""Stage `fetch_<source>`: download, verify and convert one real data source into the data contract.

Users run it by hand too (`points2sound data fetch kemar`); the paths then default to
data/<profile>/, `sources.cache_dir` and data/<profile>/manifests/<source>.json.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...data.sources import SOURCES
from ..declare import Opt, Out, Stage, StageKind

if TYPE_CHECKING:
    from ..layout import Layout

log = logging.getLogger(__name__)

KIND = StageKind(
    command="data fetch",
    help="download, verify and convert one source into the data contract",
    topic="download",
    options=(
        Opt("source", choices=SOURCES),
        Opt("--room", help="rooms only: fetch one measured room set"),
        Opt("--dataset", Path, help="data contract root (default: data/<profile>)"),
        Opt("--cache", Path, help="downloads folder (default: sources.cache_dir)"),
        Opt("--manifest", Path, help="manifest path (default: <dataset>/manifests/<source>.json)"),
        Opt(
            "--if-selected",
            flag_only=True,
            help="do nothing (exit 0) when the profile does not use this source (DVC runs every stage)",
        ),
    ),
    params=(),
)


RETRIES = ("sources.retries", "sources.backoff_s", "sources.timeout_s")


def stages(layout: Layout) -> list[Stage]:
    P, D = layout.P, layout.data
    if P["dataset"]["source"] != "real":
        return []
    out: list[Stage] = []

    def fetch(name: str, source: str, outs: dict, params: tuple[str, ...], room: str | None = None) -> None:
        manifest = f"{D}/manifests/{name.removeprefix('fetch_')}.json"
        values = {"source": source, "room": room, "dataset": D, "cache": P["sources"]["cache_dir"]}
        outs = {**outs, "manifest": Out(manifest, cache=False)}
        out.append(
            layout.stage(
                KIND, name, {**values, "manifest": manifest}, {}, outs, (f"sources.{source}", *RETRIES, *params)
            )
        )

    fetch("fetch_music_solos", "music_solos", {"audio": Out(f"{D}/audio", True)}, ("instruments", "audio"))
    fetch(
        "fetch_points2sound_clouds",
        "points2sound_clouds",
        {"frames": Out(f"{D}/frames", True)},
        ("instruments", "sources.zenodo_api"),
    )
    if P["shapes"]["name"] == "modelnet40":
        fetch("fetch_modelnet40", "modelnet40", {"shapes": Out(f"{D}/shapes", True)}, ("shapes",))
    if P["hrir"]["source"] == "sofa":
        fetch("fetch_kemar", "kemar", {"sofa": Out(f"{D}/ir/{layout.hrir}.sofa")}, ("hrir", "audio"))
    for room in layout.measured_rooms():
        fetch(f"fetch_rooms_{room}", "rooms", {"sofa": Out(f"{D}/ir/{room}.sofa")}, ("rooms",), room=room)
    return out


def run(
    params: Any,
    source: str,
    room: str | None = None,
    dataset: Path | None = None,
    cache: Path | None = None,
    manifest: Path | None = None,
    if_selected: bool = False,
) -> None:
    from ...data.sources import cache_dir, fetch_source
    from ...settings.sources import sources_config

    root = dataset if dataset is not None else Path("data") / params["profile"]
    sources = sources_config(params)
    if if_selected and source not in sources.selected:
        cache_dir(sources, source, cache).mkdir(parents=True, exist_ok=True)
        log.info("profile %r does not use %s: nothing to fetch", params["profile"], source)
        return
    if source == "rooms" and room:
        from ...data.sources.manifest import write_manifest
        from ...data.sources.rooms import fetch_one

        data = fetch_one(sources.rooms, sources.options, room, root, cache_dir(sources, "rooms", cache))
        write_manifest(manifest or root / "manifests" / f"rooms_{room}.json", {"source": "rooms", **data})
    else:
        fetch_source(sources, source, root, cache, manifest)
    log.info("fetched %s into %s", source, root)
