"""Balanced azimuth designs for test sets: every azimuth equally often, a fixed same-side share.

A test set drawn at random leaves the comparisons the report makes to chance: with 30 scenes
per N and 8 azimuths, some azimuths appear twice as often as others at N = 1, and only a handful
of N = 2 scenes have both sources on one side of the head (the case where the interaural cues of
the two sources do not separate them). The balanced design fixes, per number of sources N, the
multiset of azimuth tuples, then shuffles it (seeded); everything else about a scene (instruments,
recordings, segments, performers, distances) is still drawn per scene (`make_scene_specs`).

- N = 1: each azimuth count / A times (A azimuths).
- N >= 2: each azimuth N * count / A times over all sources of the N-source scenes; the N
  azimuths of a scene are distinct.
- N = 2: round(same_side_share * count) scenes have both sources strictly on one side
  (`scenes.same_side`), split between left and right as evenly as possible; the other scenes have
  none (their pairs are across the head or involve 0 / 180 deg), so the share is exact.

Counts that cannot be balanced raise a ParameterError naming the multiple they need. A set's
azimuths are its own list: a room's (270, 315, 0, 45, 90) is balanced over those five.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations

import numpy as np

from ...errors import ParameterError

DESIGNS = ("balanced", "random")


def side_of(azimuth_deg: float) -> str:
    """'left' for azimuths in (0, 180), 'right' in (180, 360), else 'medial' (0 and 180: on the median plane)."""
    a = float(azimuth_deg) % 360.0
    return "left" if 0 < a < 180 else "right" if 180 < a < 360 else "medial"


def required_multiple(n_sources: int, n_azimuths: int) -> int:
    """The smallest count of N-source scenes over which each of A azimuths can appear equally often."""
    return n_azimuths // math.gcd(int(n_sources), int(n_azimuths))


def _pick(rng: np.random.Generator, candidates: Sequence[int], score: dict[int, int]) -> int:
    """The candidate with the largest score, ties broken at random."""
    best = max(score[c] for c in candidates)
    tied = [c for c in candidates if score[c] == best]
    return tied[int(rng.integers(len(tied)))] if len(tied) > 1 else tied[0]


def _top_n_design(rng: np.random.Generator, n: int, count: int, remaining: dict[int, int]) -> list[tuple[int, ...]]:
    """`count` tuples of n distinct azimuths taking the n largest remaining counts each time (ties at random).

    Counts that start equal stay within one of each other, so n distinct azimuths are always
    available and all reach zero together when n * count is a multiple of their number.
    """
    out = []
    for _ in range(count):
        chosen: list[int] = []
        for _ in range(n):
            chosen.append(_pick(rng, [a for a in remaining if a not in chosen and remaining[a] > 0], remaining))
            remaining[chosen[-1]] -= 1
        out.append(tuple(chosen))
    return out


def _cross_pairs(rng: np.random.Generator, count: int, remaining: dict[int, int]) -> list[tuple[int, int]]:
    """`count` pairs using up `remaining`, none with both azimuths on one side.

    The allowed pairs form a complete multipartite graph whose parts are the left azimuths, the
    right ones, and each medial azimuth alone. A degree sequence is realizable on it iff no part
    holds more than half the total; pairing a largest vertex of the largest part with a largest
    vertex of the next largest part keeps that true, so the greedy never gets stuck.
    """
    parts: dict[str, list[int]] = {}
    for a in remaining:
        key = side_of(a)
        parts.setdefault(key if key != "medial" else f"medial{a}", []).append(a)
    total = sum(remaining.values())
    if total != 2 * count:
        raise ParameterError("azimuths", f"internal: {total} source slots for {count} pairs")
    sums = {p: sum(remaining[a] for a in members) for p, members in parts.items()}
    if max(sums.values(), default=0) * 2 > total:
        worst = max(sums, key=sums.get)
        raise ParameterError(
            "scenes.test.same_side_share_n2",
            f"leaves {sums[worst]} of the {total} source slots of the N = 2 scenes that are not "
            f"same-side at {worst.replace('medial', '')} {'deg' if worst.startswith('medial') else 'side'}"
            ", more than the rest can pair with across the head; choose another share",
        )
    out = []
    for _ in range(count):
        p1 = _pick(rng, [p for p in parts if sums[p] > 0], sums)
        p2 = _pick(rng, [p for p in parts if p != p1 and sums[p] > 0], sums)
        pair = []
        for p in (p1, p2):
            a = _pick(rng, [a for a in parts[p] if remaining[a] > 0], remaining)
            remaining[a] -= 1
            sums[p] -= 1
            pair.append(a)
        out.append((pair[0], pair[1]))
    return out


def _same_side_pairs(rng: np.random.Generator, count: int, azimuths: Sequence[int]) -> list[tuple[int, int]]:
    """`count` same-side pairs, as evenly split between the sides and among each side's pairs as possible."""
    sides = {s: [p for p in combinations([a for a in azimuths if side_of(a) == s], 2)] for s in ("left", "right")}
    usable = [s for s in ("left", "right") if sides[s]]
    if count and not usable:
        raise ParameterError(
            "scenes.test.same_side_share_n2",
            f"azimuths {list(azimuths)} have no two on one side: no same-side N = 2 scene is possible",
        )
    first = usable[int(rng.integers(len(usable)))] if len(usable) > 1 else usable[0] if usable else None
    shares = {s: 0 for s in usable}
    for k in range(count):  # alternate sides, starting on a drawn one
        shares[usable[(usable.index(first) + k) % len(usable)]] += 1
    out: list[tuple[int, int]] = []
    for s in usable:
        pairs = sides[s]
        cycle = [pairs[i] for i in rng.permutation(len(pairs))]
        out += [cycle[k % len(cycle)] for k in range(shares[s])]
    return out


def balanced_azimuths(
    n_sources: int, count: int, azimuths_deg: Sequence[int], rng: np.random.Generator, same_side_share: float = 0.0
) -> list[tuple[int, ...]]:
    """The azimuth tuples of `count` N-source scenes, balanced over `azimuths_deg`, in a seeded random order.

    Raises ParameterError when N * count is not a multiple of the number of azimuths, when N
    exceeds it, or (N = 2) when the same-side share cannot be met with every azimuth equally often.
    """
    az = [int(a) for a in azimuths_deg]
    n, count, k = int(n_sources), int(count), len(az)
    if count < 0:
        raise ParameterError("scenes.test.count", f"must be >= 0, got {count}")
    if n > k:
        raise ParameterError("n_sources", f"{n} sources need {n} distinct azimuths, got {az}")
    if (n * count) % k:
        m = required_multiple(n, k)
        raise ParameterError(
            "scenes.test.count",
            f"{count} scenes with N = {n} cannot use each of the {k} azimuths {az} equally often: "
            f"the balanced design needs a multiple of {m} scenes per N here",
        )
    if not 0.0 <= float(same_side_share) <= 1.0:
        raise ParameterError("scenes.test.same_side_share_n2", f"must lie in [0, 1], got {same_side_share}")
    per_azimuth = n * count // k
    remaining = {a: per_azimuth for a in az}
    if n == 2:
        n_same = int(math.floor(float(same_side_share) * count + 0.5))
        same = _same_side_pairs(rng, n_same, az)
        for pair in same:
            for a in pair:
                remaining[a] -= 1
        if min(remaining.values(), default=0) < 0:
            over = [a for a in az if remaining[a] < 0]
            raise ParameterError(
                "scenes.test.same_side_share_n2",
                f"{n_same} same-side scenes of {count} use azimuths {over} more often than the "
                f"{per_azimuth} times each azimuth appears at N = 2; lower the share",
            )
        tuples: list[tuple[int, ...]] = [*same, *_cross_pairs(rng, count - n_same, remaining)]
    else:
        tuples = _top_n_design(rng, n, count, remaining)
    tuples = [tuples[i] for i in rng.permutation(len(tuples))]
    return [tuple(t[j] for j in rng.permutation(len(t))) for t in tuples]
