"""Audio-visual 3D scenes (paper Sec. 3.4): mono input, binaural target, voxelized point cloud.

A scene holds N sources (N uniform in 1..3), each a distinct instrument at a
distinct azimuth from the render set and a uniform random distance of 1 to 3 m.
Its binaural target is the sum of the sources' pre-rendered binaural segments
(scaled by 1/N like the reference code); its point cloud merges one performer
of each instrument, turned to face the listener and placed at its azimuth and
distance; the merged cloud is voxelized (0.02 m).

A scene is first drawn as a small, serialisable `SceneSpec` (which recordings,
segments, performers, frames, azimuths, distances), then built from files. Test
sets are fixed lists of specs materialized once (`materialize_scenes`), so every
model and baseline is scored on the same scenes; training draws scene i from
(seed, i) on the fly (`SceneSampler`).

Inputs follow the data contract under one dataset root:
    splits/<split>_audio.csv       recording,instrument,path,duration_s,sample_rate
    splits/<split>_performers.csv  performer,instrument,n_frames,frames_dir
    binaural/<ir_set>/<instrument>/<recording>_<az>.wav   (az whole degrees, 0..359)
    frames/<instrument>/<performer>/<frame:05d>.ply
"""

from .build import TARGETS, Scene, build_scene, mono_input_signal, scene_audio, scene_cloud, scene_foa
from .sampling import SceneSampler, make_scene_specs, sample_scene_spec
from .sources import Performer, Recording, SceneSources, SourceCache
from .spec import (
    AUDIO_COLUMNS,
    DEFAULT_AZIMUTHS_DEG,
    FEATURE_KINDS,
    MONO_INPUTS,
    PERFORMER_COLUMNS,
    FeatureKind,
    MonoInput,
    SceneSpec,
    SourceSpec,
    read_scene_specs,
    same_side,
)
from .storage import load_materialized_scene, materialize_scenes

__all__ = [
    "AUDIO_COLUMNS",
    "DEFAULT_AZIMUTHS_DEG",
    "FEATURE_KINDS",
    "FeatureKind",
    "MONO_INPUTS",
    "MonoInput",
    "PERFORMER_COLUMNS",
    "Performer",
    "Recording",
    "Scene",
    "SceneSampler",
    "SceneSources",
    "SceneSpec",
    "SourceCache",
    "SourceSpec",
    "TARGETS",
    "build_scene",
    "load_materialized_scene",
    "make_scene_specs",
    "materialize_scenes",
    "mono_input_signal",
    "read_scene_specs",
    "same_side",
    "sample_scene_spec",
    "scene_audio",
    "scene_cloud",
    "scene_foa",
]
