"""Where each artifact lives: the on-disk data contract, one place for both engines.

Everything of one profile sits under data/<profile>/ (that folder plays the role
of design.md's data/<dataset>/), so profiles never overwrite each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    root: Path = Path("data")
    profile: str = "demo"

    @property
    def dataset(self) -> Path:
        return self.root / self.profile

    @property
    def audio(self) -> Path:
        return self.dataset / "audio"

    @property
    def frames(self) -> Path:
        return self.dataset / "frames"

    @property
    def splits(self) -> Path:
        return self.dataset / "splits"

    def binaural(self, ir_set: str) -> Path:
        return self.dataset / "binaural" / ir_set

    def ir(self, ir_set: str) -> Path:
        return self.dataset / "ir" / f"{ir_set}.sofa"

    @property
    def shapes(self) -> Path:
        return self.dataset / "shapes"

    def scenes(self, ir_set: str, split: str = "test") -> Path:
        return self.dataset / "scenes" / f"{split}_{ir_set}"
