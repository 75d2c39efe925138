"""A user's scene: point clouds read, placed around the listener, turned by the head yaw, voxelized.

Three ways to give a scene:
- one merged cloud already in the listener frame (head at the origin, y up, looking
  along +z, 90 deg azimuth = left = +x), e.g. a scene exported by `show-scene`;
- one cloud per source in its performer frame (y up, z the performer's face
  direction, origin on the floor below the performer) with an azimuth and a
  distance: placed like the training scenes (turned to face the listener, floor
  `listener_height_m` below the head);
- a materialized test scene (`.npz` of the scenes stage): its voxels as they are.

Head yaw: the listener turns the head by `yaw_deg` (counter-clockwise, like azimuths:
positive = to the left), so every source moves by -yaw_deg relative to the head.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputFileError, ParameterError
from ..geometry.pointcloud import PointCloud, read_ply
from ..geometry.transforms import place_performer, rotate_scene
from ..geometry.voxelize import rotate_voxels_quarter, scene_features, voxelize
from ..paths import require_file

# the farthest a point or a source may be from the origin: the models saw scenes of 1-3 m, and far points
# (a cloud in millimetres, a stray outlier) would only make the voxel grid explode
SCENE_LIMIT_M = 1000.0


@dataclass
class SourcePlacement:
    """A performer's cloud file with where to put it."""

    path: Path
    azimuth_deg: float
    distance_m: float


@dataclass
class UserScene:
    """The scene's cloud in the listener frame (None for a voxel-only scene) and its voxels."""

    coords: np.ndarray
    feats: np.ndarray
    cloud: PointCloud | None = None
    azimuths_deg: list[float] = field(default_factory=list)  # known source azimuths relative to the head
    distances_m: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


def check_extent(path: str | Path, xyz: np.ndarray, limit_m: float = SCENE_LIMIT_M) -> None:
    """InputFileError naming the file and the farthest point when a coordinate lies beyond `limit_m`."""
    if len(xyz) == 0:
        return
    far = np.abs(np.asarray(xyz, dtype=np.float64)).max(axis=1)
    i = int(np.argmax(far))
    if far[i] > limit_m:
        where = ", ".join(f"{v:.4g}" for v in np.asarray(xyz[i], dtype=np.float64))
        raise InputFileError(
            path,
            f"point {i} lies at ({where}) m, beyond {limit_m:g} m of the origin",
            "clouds are read in metres: is it in millimetres, or does it hold an outlier?",
        )


def read_cloud(path: str | Path, require_colours: bool = False) -> PointCloud:
    """A point cloud from PLY (plyfile) or any format trimesh reads (meshes give their vertices).

    Raises InputFileError for a missing or unreadable file, a directory, a cloud with no
    points, non-finite or absurdly far coordinates, or (with `require_colours`) no colours.
    """
    path = require_file(path, "point cloud file")
    if path.suffix.lower() == ".ply":
        cloud = read_ply(path, require_colours=require_colours)
    else:
        cloud = _read_trimesh(path, require_colours)
    check_extent(path, cloud.xyz)
    return cloud


def _read_trimesh(path: Path, require_colours: bool) -> PointCloud:
    """The vertices (and vertex colours) of any file trimesh reads."""
    try:
        import trimesh

        loaded = trimesh.load(str(path))
    except Exception as exc:  # trimesh raises many types for unknown or broken files
        raise InputFileError(path, f"not a readable point cloud ({type(exc).__name__}: {exc})") from exc
    if isinstance(loaded, trimesh.Scene):
        geoms = list(loaded.dump()) if hasattr(loaded, "dump") else list(loaded.geometry.values())
    else:
        geoms = [loaded]
    xyz, rgb = [], []
    for g in geoms:
        v = np.asarray(getattr(g, "vertices", np.zeros((0, 3))), dtype=np.float64)
        if len(v) == 0:
            continue
        xyz.append(v)
        colours = None
        visual = getattr(g, "visual", None)
        if visual is not None and getattr(visual, "kind", None) == "vertex":
            colours = np.asarray(visual.vertex_colors)[:, :3] / 255.0
        elif getattr(g, "colors", None) is not None and len(g.colors) == len(v):
            colours = np.asarray(g.colors)[:, :3] / 255.0
        if colours is None or len(colours) != len(v):
            if require_colours:
                raise InputFileError(
                    path,
                    "has no vertex colours but the model uses rgb features",
                    "give a coloured cloud, or use a depth-only model such as p2s_depth",
                )
            colours = np.full((len(v), 3), 0.5)
        rgb.append(colours)
    if not xyz:
        raise InputFileError(path, "point cloud has no points")
    with np.errstate(over="ignore", invalid="ignore"):  # beyond float32: inf, refused just below
        cloud = PointCloud(np.concatenate(xyz), np.concatenate(rgb))
    if not np.all(np.isfinite(cloud.xyz)):
        raise InputFileError(path, "point cloud has NaN or infinite coordinates")
    return cloud


def place_sources(
    sources: Sequence[SourcePlacement], listener_height_m: float, require_colours: bool = False
) -> PointCloud:
    """Each performer cloud turned to face the listener and put at its azimuth and distance, merged."""
    clouds = []
    for s in sources:
        if not math.isfinite(s.azimuth_deg):
            raise ParameterError("azimuth", f"{s.path}: azimuth must be a number of degrees, got {s.azimuth_deg}")
        if not (math.isfinite(s.distance_m) and 0 < s.distance_m <= SCENE_LIMIT_M):
            raise ParameterError(
                "distance", f"{s.path}: distance must be > 0 m and at most {SCENE_LIMIT_M:g} m, got {s.distance_m:g}"
            )
        clouds.append(
            place_performer(read_cloud(s.path, require_colours), s.azimuth_deg, s.distance_m, listener_height_m)
        )
    return PointCloud.concatenate(clouds)


def build_scene(
    *,
    voxel_size: float,
    listener_height_m: float,
    cloud_paths: Sequence[str | Path] = (),
    sources: Sequence[SourcePlacement] = (),
    scene_npz: str | Path | None = None,
    features: str = "rgb",
    yaw_deg: float = 0.0,
    require_colours: bool | None = None,
) -> UserScene:
    """The voxelized scene of the given inputs (exactly one kind of input), turned by the head yaw.

    Clouds must carry colours when the features are rgb (`require_colours` None), so an
    uncoloured cloud is refused instead of reaching an rgb model as uniform grey. `voxel_size`
    is the model's (its checkpoint config's voxel_size_m): a scene voxelized otherwise is another input.
    """
    if require_colours is None:
        require_colours = features == "rgb"
    given = sum([bool(cloud_paths), bool(sources), scene_npz is not None])
    if given != 1:
        raise ParameterError(
            "scene",
            "give exactly one of: merged cloud(s) (--cloud), per-source clouds "
            "(--source PATH AZIMUTH DISTANCE), or a materialized scene (--scene)",
        )
    if not math.isfinite(yaw_deg):
        raise ParameterError("yaw", f"must be a number of degrees, got {yaw_deg}")
    if scene_npz is not None:
        return _scene_from_npz(Path(scene_npz), features, voxel_size, yaw_deg)
    azimuths: list[float] = []
    distances: list[float] = []
    labels: list[str] = []
    if sources:
        cloud = place_sources(sources, listener_height_m, require_colours)
        azimuths = [(s.azimuth_deg - yaw_deg) % 360.0 for s in sources]
        distances = [s.distance_m for s in sources]
        labels = [Path(s.path).stem for s in sources]
    else:
        cloud = PointCloud.concatenate([read_cloud(p, require_colours) for p in cloud_paths])
    if yaw_deg:
        cloud = rotate_scene(cloud, -np.deg2rad(yaw_deg))
    if len(cloud) == 0:
        raise ParameterError("scene", "the point cloud has no points")
    coords, feats = voxelize(cloud.xyz, scene_features(cloud, features), voxel_size)
    return UserScene(coords, feats, cloud, azimuths, distances, labels)


def _scene_from_npz(path: Path, features: str, voxel_size: float, yaw_deg: float) -> UserScene:
    from ..data.scenes import load_materialized_scene

    data = load_materialized_scene(path)
    if np.isfinite(data["voxel_size"]) and abs(data["voxel_size"] - voxel_size) > 1e-9:
        raise ParameterError(
            "voxel_size", f"{path} was voxelized at {data['voxel_size']} m, the model expects {voxel_size} m"
        )
    if features not in ("rgb", "xyz"):
        raise ParameterError("features", f"must be 'rgb' or 'xyz', got {features!r}")
    coords, feats = data["coords"], data[f"feats_{features}"]
    if len(coords) == 0:
        raise InputFileError(path, "scene has no voxels")
    spec = data["spec"]
    azimuths = [(s.azimuth_deg - yaw_deg) % 360.0 for s in spec.sources]
    distances = [s.distance_m for s in spec.sources]
    labels = [s.instrument for s in spec.sources]
    # a cloud with one point per voxel: the voxel's mean point (inside the voxel) and colour
    cloud = PointCloud(data["feats_xyz"], np.clip(data["feats_rgb"], 0.0, 1.0))
    turns = (yaw_deg / 90.0) % 4
    if abs(turns - round(turns)) < 1e-9:
        # quarter turns map the voxel grid onto itself: exact, no re-voxelization
        for _ in range(int(round(turns)) % 4 * 3 % 4):  # -yaw = 3 quarter turns per +quarter of yaw
            coords, feats = rotate_voxels_quarter(coords, feats, features)
        if yaw_deg:
            cloud = rotate_scene(cloud, -np.deg2rad(yaw_deg))
    else:
        cloud = rotate_scene(cloud, -np.deg2rad(yaw_deg))
        coords, feats = voxelize(cloud.xyz, scene_features(cloud, features), voxel_size)
    return UserScene(np.asarray(coords, np.int32), np.asarray(feats, np.float32), cloud, azimuths, distances, labels)
