"""The seed spread of the ordering checks (report.spread): sigma per pair, proxies, the page's marks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from points2sound.errors import InputFileError
from points2sound.report import check_claims
from points2sound.report.claims import claims_markdown, within_seed_spread
from points2sound.report.spread import SPREAD_METRICS, SeedSpread, entry_means, pair_differences
from test_report import ANECHOIC, BOOT, ROOMS, synthetic_scores

RT60 = {"calypso_sim": 0.17, "spirit_sim": 0.5}
# per seed, what each retrained variant's d_ENV moves by (every scene, both its entries)
OFFSETS = {"p2s_rgb": [0.0, 0.02, -0.02], "p2s_depth": [0.0, -0.02, 0.02]}
RETRAINED = tuple(OFFSETS)


def _seed_frames():
    """The reference run's scores and, per seed, what seed_spread.py scores: the retrained variants
    (moved by OFFSETS) and Mono-Mono."""
    base = synthetic_scores()
    frames = []
    for k in range(3):
        df = base.copy()
        for variant, offsets in OFFSETS.items():
            df.loc[df.variant == variant, "d_env"] += offsets[k]
        frames.append(df[df.variant.isin(RETRAINED) | (df.method == "mono_mono")].reset_index(drop=True))
    return base, frames


def _spread_data(frames) -> dict:
    return {
        "profile": "demo",
        "variants": list(RETRAINED),
        "seeds": [7, 8, 9],
        "git_commit": "abc1234",
        "per_seed": {
            str(s): {
                "entries": entry_means(df, ANECHOIC, ROOMS, RT60, SPREAD_METRICS),
                "pairs": pair_differences(df, ANECHOIC, ROOMS, RT60, SPREAD_METRICS),
            }
            for s, df in zip([7, 8, 9], frames)
        },
    }


def _claim(claims, statement):
    return next(c for c in claims if c.statement == statement)


@pytest.fixture(scope="module")
def checked():
    base, frames = _seed_frames()
    spread = SeedSpread(json.loads(json.dumps(_spread_data(frames))))  # through JSON, as the file is read
    return base, spread, check_claims(base, ANECHOIC, ROOMS, RT60, boot=BOOT)


def test_a_measured_pair_has_the_std_of_its_per_seed_differences(checked):
    base, spread, claims = checked
    c = _claim(claims, "rgb-depth beats depth only (Points2Sound)")
    s = spread.pair(c.statement, "d_env", 0, *c.entries)
    # the difference depth - rgb moves by depth's offset minus rgb's per seed
    expected = np.std(np.subtract(OFFSETS["p2s_depth"], OFFSETS["p2s_rgb"]), ddof=1)
    assert s.measured and s.seeds == 3
    assert s.sigma == pytest.approx(expected, rel=1e-9)
    # Mono-Mono moves with no seed: the pair's sigma is rgb's alone
    mm = _claim(claims, "Points2Sound beats Mono-Mono, mono input s_L + s_R")
    s = spread.pair(mm.statement, "d_env", 0, *mm.entries)
    assert s.measured and s.sigma == pytest.approx(np.std(OFFSETS["p2s_rgb"], ddof=1), rel=1e-9)
    # d_STFT was not moved: no spread
    assert spread.pair(mm.statement, "d_stft", 0, *mm.entries).sigma == pytest.approx(0.0, abs=1e-12)


def test_a_side_not_retrained_takes_the_largest_retrained_sigma_as_a_proxy(checked):
    base, spread, claims = checked
    c = _claim(claims, "L_full beats L_diff")  # p2s_diff was not retrained
    s = spread.pair(c.statement, "d_env", 0, *c.entries)
    rgb = np.std(OFFSETS["p2s_rgb"], ddof=1)
    proxy = max(np.std(v, ddof=1) for v in OFFSETS.values())
    assert not s.measured
    assert s.sigma == pytest.approx(math.hypot(rgb, proxy), rel=1e-9)
    assert "proxy" in s.text(0.0)


def test_within_marks_follow_the_size_of_the_difference(checked):
    base, spread, claims = checked
    depth = _claim(claims, "rgb-depth beats depth only (Points2Sound)")
    mono = _claim(claims, "Points2Sound beats Mono-Mono, mono input s_L + s_R")
    # depth - rgb is 0.04 against 2 sigma = 0.08; the copy is 0.21 worse against 2 sigma = 0.04
    assert depth.pairs["d_env"][0].diff == pytest.approx(0.042, abs=0.005)
    assert within_seed_spread(depth, "d_env", spread) is True
    assert within_seed_spread(mono, "d_env", spread) is False
    assert within_seed_spread(mono, "d_env", None) is None
    table = claims_markdown(claims, base, BOOT, spread=spread)
    row = next(line for line in table.splitlines() if line.startswith("| rgb-depth beats depth only (Points2Sound)"))
    assert "**within seed spread**" in row
    row = next(
        line for line in table.splitlines() if line.startswith("| Points2Sound beats Mono-Mono, mono input s_L + s_R")
    )
    assert "outside seed spread" in row


def test_the_page_counts_the_checks_within_the_spread(checked, tmp_path):
    from points2sound.report import build_tables, write_report

    base, spread, _ = checked
    run_info = dict(
        profile="demo",
        scenes_dir="data/demo/scenes",
        anechoic=ANECHOIC,
        rooms=ROOMS,
        room_rt60_s=RT60,
        seed_spread=spread,
        bootstrap=BOOT,
    )
    page = write_report(tmp_path, base, run_info, build_tables(base, "demo", ANECHOIC), {}, [])
    text = page.read_text()
    assert "**Training noise.** From 3 training seeds (7, 8, 9) of p2s_rgb, p2s_depth" in text
    assert "checks lie within it" in text
    plain = write_report(tmp_path / "plain", base, {**run_info, "seed_spread": None}, [], {}, [])
    assert "Training noise is not marked" in plain.read_text()


def test_a_missing_or_foreign_file_is_named(tmp_path):
    with pytest.raises(InputFileError, match="seed-spread file not found.*benchmarks/seed_spread.py"):
        SeedSpread.read(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"seeds": [1]}))
    with pytest.raises(InputFileError, match="bad.json.*not a seed-spread file"):
        SeedSpread.read(bad)


def test_within_the_spread_says_when_every_seed_agrees_in_sign(checked):
    from points2sound.report.claims import seeds_agree

    base, spread, claims = checked
    depth = _claim(claims, "rgb-depth beats depth only (Points2Sound)")
    # depth - rgb per seed: 0.042 + (0, -0.04, +0.04): all positive, yet within 2 sigma
    assert within_seed_spread(depth, "d_env", spread) and seeds_agree(depth, "d_env", spread)
    row = next(
        x
        for x in claims_markdown(claims, base, BOOT, spread).splitlines()
        if x.startswith("| rgb-depth beats depth only (Points2Sound)")
    )
    assert "all 3 seeds agree in sign" in row
    # seeds that move it by +-0.06 put one seed on the other side of zero
    wide = _seed_frames()[1]
    for k, df in enumerate(wide):
        df.loc[df.variant == "p2s_depth", "d_env"] += [0.0, -0.02, 0.02][k]
    flipped = SeedSpread(json.loads(json.dumps(_spread_data(wide))))
    assert within_seed_spread(depth, "d_env", flipped) and not seeds_agree(depth, "d_env", flipped)
