"""What the page's numbers mean: exact copies and SNR's cap, the headline sentence, rates, the groups of
checks, the checks that do not fit this data, interval methods, many checks and the seed spread's signs.

All on synthetic scores (tests/test_report.py), each note generated from the scores it describes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from points2sound.report import build_tables, check_claims, write_report
from points2sound.report.claims import MISFIT, explanations_markdown
from points2sound.report.stats import bootstrap_ratio_difference, holm, t_interval
from points2sound.report.tables import table1, table_metrics, table_rooms
from points2sound.settings.report import Bootstrap
from test_report import ANECHOIC, BOOT, ROOMS, synthetic_scores

EXACT = ["scene_10000", "scene_10002"]  # N = 1 scenes made exact copies: every source on the median plane


def _with_exact_copies() -> pd.DataFrame:
    """Synthetic scores where Mono-Mono (s_L + s_R) equals the truth on two N = 1 anechoic scenes."""
    df = synthetic_scores()
    on_plane = (df.ir_set == ANECHOIC) & df.scene_id.isin(EXACT)
    df.loc[on_plane, "azimuths_deg"] = "0"
    mm = on_plane & (df.method == "mono_mono") & (df.mono_input == "sum_lr")
    df.loc[mm, ["d_env", "d_stft", "wave_mse"]] = 0.0
    df.loc[mm, "snr_db"] = 117.0
    return df


def _rows(df, method, variant="", mono_input="sum_lr", ir_set=ANECHOIC):
    m = (df.ir_set == ir_set) & (df.method == method) & (df.variant == variant) & (df.mono_input == mono_input)
    return df.loc[m].set_index("scene_id")


def test_table1_names_the_exact_copies_and_the_ratio_without_them():
    df = _with_exact_copies()
    note = table1(df, "demo", ANECHOIC).note
    assert "With s_L + s_R input, Mono-Mono is exact on 2 of 18 scenes (2 of 6 at N = 1)" in note
    assert "azimuth 0 degrees" in note and "With s_L input" not in note  # only where it happens
    model, mm = _rows(df, "points2sound", "p2s_rgb"), _rows(df, "mono_mono")
    n1 = mm[mm.n_sources == 1].drop(EXACT)
    lateral = model.loc[n1.index, "d_env"].mean() / n1.d_env.mean()
    assert f"over the 4 remaining scenes is d_ENV ×{lateral:.2f}" in note
    assert "Scenes the copy gets right" not in table1(synthetic_scores(), "demo", ANECHOIC).note


def test_snr_is_a_median_and_the_capped_scenes_are_counted_and_named():
    df = _with_exact_copies()
    t = table_metrics(df, "demo", ANECHOIC)
    model, mm = _rows(df, "points2sound", "p2s_rgb"), _rows(df, "mono_mono")
    assert mm.snr_db.mean() > 2 * mm.snr_db.median()  # the capped scenes dominate the mean
    i = next(k for k, r in enumerate(t.index) if r[1] == "Mono-Mono" and r[0] == "s_L + s_R")
    j = t.columns.index(("snr_db", "median"))
    assert t.ours[i, j] == pytest.approx(mm.snr_db.median())
    wins = int((model.snr_db > mm.snr_db.loc[model.index]).sum())
    assert f"Points2Sound (p2s_rgb) has the higher SNR on {wins} of 18 scenes" in t.note
    assert "Mono-Mono is exact on 2 of them (scene_10000, scene_10002), each at the cap of 117 dB" in t.note
    rest = mm.drop(EXACT)
    assert f"without them its mean is {rest.snr_db.mean():.2f} dB" in t.note


def test_the_headline_sentence_comes_from_the_table_numbers():
    df = synthetic_scores()
    t = table1(df, "demo", ANECHOIC)
    i = t.index.index(("s_L + s_R", "Points2Sound (L_full)"))
    ratio = t.ratio[i, t.columns.index(("d_env", "n1"))]
    assert f"mean d_ENV {ratio:.2f} times Mono-Mono's (6 scenes)" in t.note
    # the paper's N = 1 cells: 0.015 against Mono-Mono's 0.142 and Rotated-Visual's 0.166
    assert "the paper's: 0.11 (0.015 / 0.142) and 0.09 (0.015 / 0.166)" in t.note


def test_the_rooms_table_repeats_the_rate_warning_only_when_the_rates_differ():
    df = synthetic_scores()
    assert "44.1 kHz" in table_rooms(df, "demo", ANECHOIC, ROOMS, sample_rate=16000).note
    assert table_rooms(df, "demo", ANECHOIC, ROOMS, sample_rate=44100).note == ""


def _page(df, tmp_path, **extra) -> str:
    run_info = dict(
        profile="demo", scenes_dir="data/demo/scenes", anechoic=ANECHOIC, rooms=ROOMS, bootstrap=BOOT, **extra
    )
    return write_report(tmp_path, df, run_info, build_tables(df, "demo", ANECHOIC, ROOMS, 16000), {}, []).read_text()


def test_the_summary_counts_each_group_and_the_checks_that_do_not_fit(tmp_path):
    df = synthetic_scores()
    text = _page(df, tmp_path / "a", residual_copy=True)
    assert "- baselines beaten: of 16 checks, 16 hold" in text
    assert "- design choices: of 8 checks, 6 hold, 0 do not hold, 0 are not resolved, 2 do not fit this data." in text
    assert "### Checks that do not fit this data" in text and "`model.demucs.residual: true`" in text
    plain = _page(df, tmp_path / "b", residual_copy=False)
    assert "- design choices: of 8 checks, 8 hold" in plain and "### Checks that do not fit" not in plain
    assert "percentile bootstrap interval" in plain and "Holm's correction" in plain


def test_an_absolute_room_check_does_not_fit_when_the_copy_is_easier_in_the_room():
    df = synthetic_scores()
    room = (df.ir_set == "calypso_sim") & (df.method == "mono_mono")
    df.loc[room, "d_stft"] *= 0.3  # the room's Mono-Mono is now far lower than the anechoic one
    claims = {c.statement: c for c in check_claims(df, ANECHOIC, boot=BOOT)}
    absolute = claims["anechoic beats room calypso_sim (Points2Sound rgb-depth)"]
    assert absolute.verdicts == {"d_env": "holds", "d_stft": MISFIT}
    assert "Mono-Mono itself is lower in calypso_sim than in sphere_1m" in absolute.misfit["d_stft"]
    ratio = claims["anechoic beats room calypso_sim, by ratio to Mono-Mono"]
    model, mm = _rows(df, "points2sound", "p2s_rgb", ir_set="calypso_sim"), _rows(df, "mono_mono", ir_set="calypso_sim")
    assert ratio.ours["d_stft"][1] == pytest.approx(model.d_stft.mean() / mm.d_stft.mean())
    assert ratio.verdicts["d_stft"] == "holds"  # by ratio, the room is the harder condition
    assert absolute.measured["d_stft"] == "holds"  # the verdict the mark replaced is kept


def test_the_ratio_bootstrap_resamples_each_condition_with_its_own_baseline():
    rng = np.random.default_rng(0)
    ids = [f"s{k}" for k in range(60)]

    def frame(values):
        return pd.DataFrame({"scene_id": ids, "x": values})

    base_a, base_b = rng.uniform(1, 2, 60), rng.uniform(3, 4, 60)
    a, b = frame(0.5 * base_a), frame(0.8 * base_b)  # ratios 0.5 and 0.8
    d = bootstrap_ratio_difference((a, frame(base_a)), (b, frame(base_b)), "x", Bootstrap(500, 0.95, 1), "k")
    assert d.diff == pytest.approx(0.3) and d.low == pytest.approx(0.3) and d.verdict == "holds"


def test_t_intervals_match_scipy_and_holm_steps_down():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 25), rng.normal(0.4, 1.5, 25)
    low, high, p = t_interval(a, b, True, 0.95)
    assert p == pytest.approx(sps.ttest_rel(b, a, alternative="greater").pvalue)
    ci = sps.ttest_rel(b, a).confidence_interval(0.95)
    assert (low, high) == pytest.approx((ci.low, ci.high))
    _, _, p = t_interval(a, b[:20], False, 0.95)
    assert p == pytest.approx(sps.ttest_ind(b[:20], a, equal_var=False, alternative="greater").pvalue)
    assert holm([0.01, 0.04, 0.03, math.nan]) == pytest.approx([0.03, 0.06, 0.06, math.nan], nan_ok=True)


def test_a_reversal_the_paper_shares_is_said_with_the_papers_gains():
    df = synthetic_scores()
    for method in ("points2sound", "mono_mono"):  # s_L + s_R worse than s_L, for the models and the copy
        m = (df.method == method) & (df.mono_input == "sum_lr")
        df.loc[m, "d_env"] += 1.0
    claims = check_claims(df, ANECHOIC, boot=BOOT)
    item = next(x for x in explanations_markdown(claims, df, BOOT) if x.startswith("- **mono inputs") and "d_ENV" in x)
    assert "The paper's own Mono-Mono has the same reversal (0.162 against 0.154) and its models overcame it" in item
    assert "+58.6 % against +38.3 % in the paper" in item
