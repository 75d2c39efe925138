"""A picture of a scene: top and side views with the listener's head and the source azimuths.

Top view: looking down, the listener's nose up the page (+z), left on the left
(azimuth 90 deg = +x is drawn to the left). Side view: seen from the listener's
right, front (+z) to the right, up (+y) up. Points are drawn in their colours.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from .scene_input import UserScene

MAX_POINTS = 40000


HEAD_RADIUS_M = 0.0875  # the drawn head


def _draw_top(top, xyz, rgb, azimuths_deg: Sequence[float], labels: Sequence[str], reach: float, yaw_deg: float):
    """Looking down: the nose up the page, left on the left, a dashed ray per azimuth."""
    from matplotlib.patches import Circle, Polygon

    top.scatter(-xyz[:, 0], xyz[:, 2], c=rgb, s=0.6, linewidths=0, rasterized=True)
    head = HEAD_RADIUS_M
    top.add_patch(Circle((0, 0), head, fill=False, lw=1.5, color="k"))
    top.add_patch(Polygon([[-0.03, head * 0.9], [0.03, head * 0.9], [0, head * 1.5]], closed=True, color="k"))
    for az, label in zip(azimuths_deg, labels):
        a = np.deg2rad(az)
        dx, dz = -np.sin(a), np.cos(a)  # azimuth 90 (left, +x) drawn to the left
        top.plot([0, dx * reach], [0, dz * reach], "--", color="tab:red", lw=0.9)
        top.annotate(
            f"{az:.0f}°" + (f" {label}" if label else ""),
            (dx * reach * 0.92, dz * reach * 0.92),
            color="tab:red",
            fontsize=8,
            ha="center",
        )
    top.set_xlim(-reach, reach)
    top.set_ylim(-reach, reach)
    top.set_aspect("equal")
    top.set_xlabel("← left      lateral (m)      right →")
    top.set_ylabel("front (m)")
    top.set_title("top view" + (f" (head turned {yaw_deg:+.0f}°)" if yaw_deg else ""))
    top.grid(alpha=0.3)


def _draw_side(side, xyz, rgb, reach: float, listener_height_m: float):
    """Seen from the listener's right: front to the right, up up, the floor below the head."""
    from matplotlib.patches import Circle

    side.scatter(xyz[:, 2], xyz[:, 1], c=rgb, s=0.6, linewidths=0, rasterized=True)
    side.add_patch(Circle((0, 0), HEAD_RADIUS_M, fill=False, lw=1.5, color="k"))
    side.axhline(-listener_height_m, color="0.5", lw=0.8)
    side.annotate("floor", (-reach * 0.95, -listener_height_m + 0.03), color="0.4", fontsize=8)
    side.set_xlim(-reach, reach)
    y_lo = min(-listener_height_m - 0.1, float(xyz[:, 1].min(initial=0.0)) - 0.1)
    y_hi = max(0.6, float(xyz[:, 1].max(initial=0.0)) + 0.1)
    side.set_ylim(y_lo, y_hi)
    side.set_aspect("equal")
    side.set_xlabel("back ← (m) → front")
    side.set_ylabel("up (m), head at 0")
    side.set_title("side view (from the right)")
    side.grid(alpha=0.3)


def plot_scene(
    scene: UserScene,
    out_path: Path,
    azimuths_deg: Sequence[float],
    labels: Sequence[str],
    *,
    yaw_deg: float = 0.0,
    listener_height_m: float,
    title: str | None = None,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    assert scene.cloud is not None
    xyz, rgb = scene.cloud.xyz, np.clip(scene.cloud.rgb, 0.0, 1.0)
    if len(xyz) > MAX_POINTS:  # a fixed, deterministic subset keeps the figure light
        keep = np.random.default_rng(0).choice(len(xyz), MAX_POINTS, replace=False)
        xyz, rgb = xyz[np.sort(keep)], rgb[np.sort(keep)]
    reach = max(1.5, float(np.abs(xyz[:, [0, 2]]).max(initial=0.0)) * 1.1)
    fig, (top, side) = plt.subplots(1, 2, figsize=(11, 5.2), gridspec_kw={"width_ratios": [1.1, 1]})
    _draw_top(top, xyz, rgb, azimuths_deg, labels, reach, yaw_deg)
    _draw_side(side, xyz, rgb, reach, listener_height_m)
    fig.suptitle(title or f"{len(scene.coords)} voxels, {len(scene.cloud)} points")
    fig.tight_layout()
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        fmt = out_path.suffix.lstrip(".").lower() or "png"
        meta = {"Software": None} if fmt == "png" else {}
        fig.savefig(tmp, dpi=110, format=fmt, metadata=meta)
    plt.close(fig)
