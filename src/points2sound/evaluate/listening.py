"""Listening pages: one self-contained HTML file per listening example, for `snakemake --report`.

Each page plays the example's mono input, the model's prediction and the ground truth in the
browser (`<audio controls>` with the WAV embedded as a data URI, so the page works inside the
report's single HTML file) and shows the scene the model saw: its point clouds from above and
from the side, with the listener's head and each source's azimuth (`points2sound show-scene`'s
drawing, also written on its own as `<example>.png`). Same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from ..atomic import write_text
from ..data.scenes import load_materialized_scene

KINDS = ("mono", "prediction", "truth")
LABELS = {
    "mono": "mono input (what the model hears)",
    "prediction": "prediction (binaural, the model's output)",
    "truth": "ground truth (binaural render of the scene)",
}


# Chromium refuses to open a data URI over 2 MB, and `snakemake --report` embeds each page as one: the
# players get the WAV as 16-bit PCM (a third of the float file; a demo page of three 4 s clips ~0.9 MB)
EMBED_SUBTYPE = "PCM_16"


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _wav_data_uri(path: Path) -> str:
    """The WAV as a data URI for an <audio> player, re-encoded as 16-bit PCM (clipped at full scale)."""
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    buf = io.BytesIO()
    sf.write(buf, np.clip(data, -1.0, 1.0), rate, subtype=EMBED_SUBTYPE, format="WAV")
    return f"data:audio/wav;base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


def example_groups(wavs: Sequence[Path]) -> dict[str, dict[str, Path]]:
    """`N<n>_<scene_id>_<kind>.wav` files grouped by example (`N<n>_<scene_id>`), in name order."""
    groups: dict[str, dict[str, Path]] = {}
    for wav in sorted(wavs):
        stem, _, kind = wav.stem.rpartition("_")
        if kind in KINDS:
            groups.setdefault(stem, {})[kind] = wav
    return groups


def write_scene_picture(
    scene_npz: Path, out_png: Path, title: str, voxel_size: float, listener_height_m: float
) -> Path:
    """The drawing of a materialized scene; `voxel_size`: the one it was voxelized at (its own), and the
    listener's height above the floor it was built with (`scenes.listener_height_m`)."""
    from ..infer.commands import show_scene_file

    show_scene_file(
        out_png, scene_npz=scene_npz, title=title, voxel_size=voxel_size, listener_height_m=listener_height_m
    )
    return out_png


def write_listening_pages(
    examples_dir: Path, scenes_dir: Path, pictures_dir: Path, listener_height_m: float
) -> list[Path]:
    """For each example in `examples_dir`: `<pictures_dir>/<example>.png` and `<examples_dir>/<example>.html`."""
    pictures_dir.mkdir(parents=True, exist_ok=True)
    pages = []
    for example, files in example_groups(list(examples_dir.glob("*.wav"))).items():
        scene_id = example.split("_", 1)[1]
        scene = load_materialized_scene(scenes_dir / f"{scene_id}.npz")
        spec = scene["spec"]
        sources = ", ".join(f"{s.instrument} at {s.azimuth_deg} deg, {s.distance_m:.2f} m" for s in spec.sources)
        title = f"Listening example {example}: N = {spec.n_sources}"
        picture = write_scene_picture(
            scenes_dir / f"{scene_id}.npz",
            pictures_dir / f"{example}.png",
            title,
            float(scene["voxel_size"]),
            listener_height_m,
        )
        rows = []
        for kind in KINDS:
            if kind in files:
                rows.append(
                    f"<figure><figcaption>{html.escape(LABELS[kind])}</figcaption>"
                    f'<audio controls preload="metadata" data-kind="{kind}" '
                    f'src="{_wav_data_uri(files[kind])}"></audio></figure>'
                )
        page = examples_dir / f"{example}.html"
        write_text(
            page,
            "\n".join(
                [
                    "<!doctype html>",
                    '<html lang="en"><head><meta charset="utf-8">',
                    f"<title>{html.escape(title)}</title>",
                    "<style>body{font-family:sans-serif;margin:1em;max-width:60em}figure{margin:.6em 0}"
                    "audio{width:28em}img{max-width:100%;border:1px solid #ddd}</style></head><body>",
                    f"<h1>{html.escape(title)}</h1>",
                    f"<p>Test scene <code>{html.escape(scene_id)}</code> ({html.escape(sources)}; azimuth 0 = front, "
                    "90 = left). Headphones: the prediction should place each instrument where the truth does.</p>",
                    *rows,
                    f'<img alt="scene {html.escape(scene_id)}: top and side views" src="{_data_uri(picture, "image/png")}">',
                    "</body></html>",
                    "",
                ]
            ),
        )
        pages.append(page)
    return pages
