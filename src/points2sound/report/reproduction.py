"""How close a run came to the committed reference run of its profile.

The report stage writes `reproduction.json` (the machine, the commit and the sha256 of
every data and model artifact and table) and ends the page with a comparison against
`results/reference/<profile>/`: per table cell identical or the difference, and which
artifacts have the reference's hashes. Same CPU kind: everything must be bitwise equal
(same parameters, same bytes). Another CPU kind: data and baselines are expected bitwise
(no training), trained models only within `reproduce.rel_tolerance` (see params.yaml for
where that figure comes from).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TRAINED = ("models/",)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_sha256(path: Path) -> str:
    """A file's sha256, or a folder's: the sha256 of its sorted `relative path  sha256` lines."""
    if path.is_file():
        return file_sha256(path)
    lines = [f"{p.relative_to(path).as_posix()}  {file_sha256(p)}" for p in sorted(path.rglob("*")) if p.is_file()]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def record(
    artifacts: Sequence[Path], tables_dir: Path, machine: Mapping[str, Any], commit: str, profile: str
) -> dict[str, Any]:
    """The run's facts that a later run is compared against (reproduction.json)."""
    return {
        "profile": profile,
        "git_commit": commit,
        "machine": dict(machine),
        "artifacts": {p.as_posix(): tree_sha256(p) for p in artifacts},
        "tables": {p.name: file_sha256(p) for p in sorted(tables_dir.glob("*.csv"))},
    }


def cpu_kind(machine: Mapping[str, Any]) -> str:
    """What float results depend on: the CPU model and its widest vector units."""
    capability = machine.get("torch_cpu_capability") or "unknown kernels"
    return f"{machine.get('cpu_model') or 'an unknown CPU'} (torch {capability} kernels)"


@dataclass
class CellDiff:
    table: str
    row: str
    column: str
    ours: float
    reference: float

    @property
    def rel(self) -> float:
        return abs(self.ours - self.reference) / max(abs(self.reference), 1e-12)


def compare_tables(ours: Path, reference: Path) -> tuple[int, int, list[CellDiff], list[str]]:
    """Numeric cells of every reference table: (cells compared, identical, differing cells, problems)."""
    compared = identical = 0
    diffs: list[CellDiff] = []
    problems: list[str] = []
    for ref_csv in sorted(reference.glob("*.csv")):
        mine = ours / ref_csv.name
        if not mine.is_file():
            problems.append(f"`{ref_csv.name}`: not written by this run")
            continue
        a, b = pd.read_csv(mine), pd.read_csv(ref_csv)
        if a.shape != b.shape:
            problems.append(f"`{ref_csv.name}`: shape {a.shape} against the reference's {b.shape}")
            continue
        if list(a.columns) != list(b.columns):
            only_ours = [c for c in a.columns if c not in b.columns]
            only_ref = [c for c in b.columns if c not in a.columns]
            problems.append(
                f"`{ref_csv.name}`: columns differ (only here: {', '.join(only_ours) or 'none'}; "
                f"only in the reference: {', '.join(only_ref) or 'none'}; else the order)"
            )
            continue
        label_cols = [c for c in b.columns if not pd.api.types.is_numeric_dtype(b[c])] or list(b.columns[:1])
        for i in range(len(b)):
            label = " / ".join(
                f"{c} {b[c].iloc[i]}" if pd.api.types.is_numeric_dtype(b[c]) else str(b[c].iloc[i]) for c in label_cols
            )
            for col in b.columns:
                if col in label_cols:
                    continue
                x, y = float(a.iloc[i][col]), float(b.iloc[i][col])
                if np.isnan(x) and np.isnan(y):
                    continue
                compared += 1
                if x == y:
                    identical += 1
                else:
                    diffs.append(CellDiff(ref_csv.stem, label, col, x, y))
    return compared, identical, diffs, problems


def section(run: Mapping[str, Any], ours_tables: Path, reference_dir: Path | None, rel_tolerance: float) -> list[str]:
    """The page's last section: this run against the committed reference."""
    lines = ["## Reproduction: this run against the committed reference", ""]
    if reference_dir is None or not (reference_dir / "tables").is_dir():
        return lines + [
            "No reference run is committed for this profile (`results/reference/<profile>/`), so "
            "there is nothing to compare with.",
            "",
        ]
    ref_file = reference_dir / "reproduction.json"
    if ref_file.is_file():
        ref = json.loads(ref_file.read_text())
    else:  # a reference made before runs recorded their machine and hashes: its tables only
        ref = {"git_commit": "unknown (the reference has no reproduction.json)", "machine": {}, "artifacts": {}}
        lines += [
            "The reference holds no `reproduction.json` (it was made before runs recorded their machine "
            "and artifact hashes): only its tables are compared, and its CPU kind is unknown.",
            "",
        ]
    same_kind = bool(ref.get("machine")) and cpu_kind(ref["machine"]) == cpu_kind(run["machine"])
    lines += [
        f"- Reference: `{reference_dir.as_posix()}`, made from commit `{ref.get('git_commit')}` on "
        f"{machine_line(ref.get('machine', {}))}.",
        f"- This run: commit `{run['git_commit']}` on {machine_line(run['machine'])}.",
        "- Expectation: "
        + (
            "**same CPU kind: every artifact and cell bitwise equal** (the same parameters give the same bytes)."
            if same_kind
            else f"**another (or an unrecorded) CPU kind**: data and baselines bitwise (no "
            f"training is involved); "
            f"trained-model cells within a relative {rel_tolerance:g} "
            "(`reproduce.rel_tolerance`)."
        ),
        "",
    ]
    lines += _artifact_lines(run["artifacts"], ref.get("artifacts", {}), same_kind)
    compared, identical, diffs, problems = compare_tables(ours_tables, reference_dir / "tables")
    within = [d for d in diffs if d.rel <= rel_tolerance]
    lines += [
        f"**Tables**: {compared} numeric cells compared, {identical} identical, {len(within)} differ within "
        f"{rel_tolerance:g} (relative), {len(diffs) - len(within)} differ by more.",
        "",
    ]
    lines += [f"- {p}" for p in problems]
    if diffs:
        lines += ["| table | row | column | this run | reference | relative difference |", "|---|---|---|---|---|---|"]
        for d in sorted(diffs, key=lambda d: -d.rel)[:40]:
            lines.append(f"| {d.table} | {d.row} | {d.column} | {d.ours:.6g} | {d.reference:.6g} | {d.rel:.2%} |")
        if len(diffs) > 40:
            lines.append(f"| ... | {len(diffs) - 40} more | | | | |")
        lines.append("")
    verdict = _verdict(same_kind, diffs, within, problems, run["artifacts"], ref.get("artifacts", {}))
    return lines + [f"**Verdict**: {verdict}", ""]


def commit_label(machine: Mapping[str, Any]) -> str:
    """The short commit the run was made from (machine.git_state), marked when tracked files differed."""
    if not machine.get("git_commit"):
        return "unknown (not a git checkout)"
    return machine["git_commit"][:7] + (" (with uncommitted changes)" if machine.get("git_dirty") else "")


def machine_line(machine: Mapping[str, Any]) -> str:
    """One line for a page: what float results depend on."""
    if not machine:
        return "an unrecorded machine"
    return (
        f"{cpu_kind(machine)}, torch {machine.get('versions', {}).get('torch')}, "
        f"{machine.get('torch_threads')} torch thread(s)"
    )


def _artifact_lines(ours: Mapping[str, str], ref: Mapping[str, str], same_kind: bool) -> list[str]:
    common = sorted(set(ours) & set(ref))
    equal = [p for p in common if ours[p] == ref[p]]
    differ = [p for p in common if ours[p] != ref[p]]
    lines = [f"**Artifacts**: {len(equal)} of {len(common)} have the reference's sha256."]
    if differ:
        lines.append("Differing: " + ", ".join(f"`{p}`" for p in differ) + ".")
    missing = sorted(set(ref) - set(ours))
    if missing:
        lines.append("In the reference only: " + ", ".join(f"`{p}`" for p in missing) + ".")
    return lines + [""]


def _verdict(
    same_kind: bool,
    diffs: list[CellDiff],
    within: list[CellDiff],
    problems: list[str],
    ours: Mapping[str, str],
    ref: Mapping[str, str],
) -> str:
    differ = [p for p in set(ours) & set(ref) if ours[p] != ref[p]]
    if problems:
        return "not comparable (see the problems above)."
    if not diffs and not differ:
        return "reproduced bit for bit."
    if same_kind:
        return "NOT reproduced: same CPU kind, but artifacts or cells differ (a nondeterminism or a changed input)."
    untrained = [p for p in differ if not p.startswith(TRAINED)]
    if untrained:
        return "NOT reproduced: data artifacts differ on another CPU kind: " + ", ".join(untrained[:5])
    if len(within) == len(diffs):
        return "reproduced within tolerance on another CPU kind (data bitwise, trained models within the tolerance)."
    return f"NOT within tolerance: {len(diffs) - len(within)} cells differ by more than the tolerance."
