"""The audio pre-training section of the report, on small frames made here."""

from __future__ import annotations

import pandas as pd
import pytest

from points2sound.cli import main
from points2sound.errors import InputFileError
from points2sound.evaluate.metrics import FIELD_METRICS
from points2sound.evaluate.scores import COLUMNS, write_scores
from points2sound.report.separation import (
    HELPED,
    MIXED,
    NOT_HELPED,
    co_movement,
    load_separation_inputs,
    pretraining_comparison,
    pretraining_verdict,
    separation_section,
    separation_vs_binaural,
)

ANECHOIC, ROOM = "sphere_1m", "calypso_sim"
MONO_SDR = {2: [4.0, 6.0, 8.0, 10.0], 3: [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}  # per N: one value per source


def mono_scores(sdr: dict[int, list[float]] = MONO_SDR) -> pd.DataFrame:
    rows = []
    for n, values in sdr.items():
        for i, v in enumerate(values):
            rows.append(
                dict(
                    scene_id=f"sep_n{n}_{i // n:04d}",
                    n_sources=n,
                    source_index=i % n,
                    instrument="cello",
                    azimuth_deg=45 * (i % n),
                    distance_m=2.0,
                    sdr=v,
                    sir=v + 10,
                    sar=v + 1,
                )
            )
    return pd.DataFrame(rows)


def per_ear_scores() -> pd.DataFrame:
    mono = mono_scores()
    left, right = mono.assign(ear="left"), mono.assign(ear="right", sdr=mono["sdr"] - 2)
    return pd.concat([left, right], ignore_index=True)


def binaural_scores(
    delta_env=0.0, delta_stft=0.0, ir_sets=(ANECHOIC, ROOM), variants=("p2s_rgb", "p2s_audiopt"), per_n: int = 4
) -> pd.DataFrame:
    """p2s_rgb errors grow with N; p2s_audiopt = p2s_rgb + delta (a number, or a function of (ir_set, n))."""
    rows = []
    for ir_set in ir_sets:
        for n in (1, 2, 3):
            for k in range(per_n):
                env, stft = 0.1 * n + 0.01 * k, 1.0 * n + 0.1 * k
                for variant in variants:
                    de, ds = (0.0, 0.0) if variant == "p2s_rgb" else (delta_env, delta_stft)
                    de, ds = (de(ir_set, n) if callable(de) else de), (ds(ir_set, n) if callable(ds) else ds)
                    rows.append(
                        dict(
                            scene_id=f"scene_{n}{k:03d}",
                            ir_set=ir_set,
                            method="points2sound",
                            variant=variant,
                            mono_input="sum_lr",
                            features="rgb",
                            loss="full",
                            n_sources=n,
                            instruments="cello",
                            azimuths_deg="0",
                            same_side=False,
                            d_env=env + de,
                            d_stft=stft + ds,
                            d_env_paper=1.0,
                            d_stft_paper=1.0,
                            **dict.fromkeys(FIELD_METRICS, 1.0),
                        )
                    )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def costs_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "profile": ["demo"] * 3,
            "sample_rate": [16000] * 3,
            "network": [
                "Points2Sound Demucs, L_full (2 channels out)",
                "Points2Sound Demucs, L_diff and separation (1 channel out)",
                "Mono2Binaural U-Net",
            ],
            "parameters": [600, 590, 200],
            "gmacs_per_s": [0.5, 0.4, 0.1],
            "gmacs_per_s_test": [0.5, 0.4, 2.0],
            "cond_dim": [16, 16, 128],
            "note": ["", "", ""],
        }
    )


@pytest.fixture()
def separation_dir(tmp_path):
    d = tmp_path / "separation"
    d.mkdir()
    mono_scores().to_csv(d / "mono.csv", index=False)
    per_ear_scores().to_csv(d / "p2s_rgb_per_ear.csv", index=False)
    return d


def _section(tmp_path, scores, separation=None, costs=True, per_ear_variants=("p2s_rgb",)):
    costs_path = None
    if costs:
        costs_path = tmp_path / "audio_costs.csv"
        costs_frame().to_csv(costs_path, index=False)
    lines = separation_section(
        tmp_path / "out", scores, separation, costs_path, "demo", ANECHOIC, [ANECHOIC, ROOM], per_ear_variants
    )
    return "\n".join(lines)


def test_full_section_tables_and_numbers(tmp_path, separation_dir):
    text = _section(tmp_path, binaural_scores(-0.01, -0.1), [separation_dir])
    assert text.startswith("## Audio pre-training by separation")
    assert "Missing from this run" not in text
    # (a) N = 2: SDR mean 7, median 7; N = 3: mean 3.5, median 3.5; sources counted
    table = pd.read_csv(tmp_path / "out" / "tables" / "separation_mono.csv")
    assert table["sdr_mean"].tolist() == [7.0, 3.5] and table["sir_median"].tolist() == [17.0, 13.5]
    assert table["count"].tolist() == [4, 6]
    assert "| 2 | 7.00 | 7.00 | 17.00 |" in text
    # (b) per ear: the right ear is 2 dB lower
    ear = pd.read_csv(tmp_path / "out" / "tables" / "separation_per_ear.csv")
    assert ear[["variant", "n_sources", "ear"]].values.tolist() == [
        ["p2s_rgb", 2, "left"],
        ["p2s_rgb", 2, "right"],
        ["p2s_rgb", 3, "left"],
        ["p2s_rgb", 3, "right"],
    ]
    assert ear["sdr_mean"].tolist() == [7.0, 5.0, 3.5, 1.5]
    # (c) 2 IR sets x 3 N, lowered everywhere, by 0.1 in d_STFT
    cmp = pd.read_csv(tmp_path / "out" / "tables" / "audiopt_vs_rgb.csv")
    assert len(cmp) == 6 and cmp["d_stft_diff"].round(9).eq(-0.1).all() and cmp["scenes"].eq(4).all()
    assert "lowered mean d_STFT in 6 of 6 (N, IR set) cells; on average over the cells it lowered it by 0.1" in text
    assert "lower d_STFT in 24 of 24 paired test scenes" in text
    assert f"Verdict: {HELPED}." in text
    # (d), (e)
    assert "they move together" in text
    assert "Points2Sound Demucs (L_full) has 600 parameters, 3 times Mono2Binaural's 200" in text
    for name in ("separation_mono", "separation_per_ear", "audiopt_vs_rgb", "separation_vs_binaural", "audio_costs"):
        for ext in ("csv", "md", "tex"):
            assert (tmp_path / "out" / "tables" / f"{name}.{ext}").is_file(), (name, ext)
        assert f"](tables/{name}.tex)" in text
    assert "\\toprule" in (tmp_path / "out" / "tables" / "audio_costs.tex").read_text()


@pytest.mark.parametrize(
    "delta_env, delta_stft, verdict",
    [
        (-0.01, -0.1, HELPED),
        (0.01, 0.1, NOT_HELPED),
        (0.0, 0.0, NOT_HELPED),  # identical numbers: nothing lowered
        (-0.01, 0.1, MIXED),  # one metric each way
        # d_STFT lowered in 4 of 6 cells by 0.1 but raised by 0.5 in 2: the average goes up -> split -> mixed
        (-0.01, lambda ir, n: 0.5 if n == 3 else -0.1, MIXED),
    ],
)
def test_verdict_follows_the_numbers(delta_env, delta_stft, verdict):
    comparison = pretraining_comparison(binaural_scores(delta_env, delta_stft), [ANECHOIC, ROOM])
    got, sentences = pretraining_verdict(comparison)
    assert got == verdict
    assert len(sentences) == 2 and sentences[0].startswith("Audio pre-training lowered mean d_ENV in")


def test_verdict_sentence_counts_cells_and_average():
    delta = lambda ir, n: -0.3 if ir == ANECHOIC else 0.1  # noqa: E731 - lowered in 3 of 6 cells, mean -0.1
    comparison = pretraining_comparison(binaural_scores(0.0, delta), [ANECHOIC, ROOM])
    assert comparison["ir_set"].tolist() == [ANECHOIC] * 3 + [ROOM] * 3
    verdict, sentences = pretraining_verdict(comparison)
    assert (
        "lowered mean d_STFT in 3 of 6 (N, IR set) cells; on average over the cells it lowered it by 0.1 "
        in sentences[1]
    )
    assert verdict == MIXED  # half the cells is not more than half; d_ENV unchanged counts as not better


def test_co_movement_direction_and_too_few_n():
    mono = mono_scores()
    together = separation_vs_binaural(mono, binaural_scores(), ANECHOIC)  # SDR falls, errors rise with N
    assert together["n_sources"].tolist() == [1, 2, 3]  # N = 1 has binaural errors only
    assert pd.isna(together.loc[0, "sdr_mean"])
    sentence = co_movement(together)
    assert (
        "From N = 2 to N = 3, the separation network's mean SDR went from 7.00 to 3.50 dB, p2s_rgb's mean "
        "anechoic d_ENV from 0.215 to 0.315"
    ) in sentence
    assert sentence.count("they move together") == 2 and "not evidence" in sentence
    rising = separation_vs_binaural(mono_scores({2: [1.0, 1.0], 3: [9.0, 9.0, 9.0]}), binaural_scores(), ANECHOIC)
    assert co_movement(rising).count("move in opposite directions") == 2
    one = separation_vs_binaural(mono_scores({2: [1.0, 2.0]}), binaural_scores(), ANECHOIC)
    assert "cannot be read here: N = 2 has both scores" in co_movement(one)


def test_missing_files_are_named_not_fatal(tmp_path):
    scores = binaural_scores(variants=("p2s_rgb",))  # a profile without the new variant
    text = _section(
        tmp_path,
        scores,
        [tmp_path / "results" / "separation"],
        costs=False,
        per_ear_variants=("p2s_rgb", "p2s_audiopt"),
    )
    assert f"`{tmp_path / 'results' / 'separation'}` (not found)" in text
    assert "per-ear scores of `p2s_audiopt` (`p2s_audiopt_per_ear.csv`)" in text
    assert "Not available: the separation network's scores (`mono.csv`) were not found." in text
    assert "Not available: no binaural scores of `p2s_audiopt` in this run" in text
    assert "Not available: no cost table was given" in text
    assert "Verdict" not in text
    none_given = _section(tmp_path, scores, None, costs=False)
    assert "no separation scores were given" in none_given
    empty = tmp_path / "empty" / "mono.csv"
    empty.parent.mkdir()
    mono_scores().iloc[:0].to_csv(empty, index=False)
    assert f"rows in `{empty}` (it has none)" in _section(tmp_path, scores, [empty], costs=False)


def test_malformed_separation_files_are_errors(tmp_path, separation_dir):
    mono_scores().drop(columns="sar").to_csv(separation_dir / "mono.csv", index=False)
    with pytest.raises(InputFileError, match="sar"):
        load_separation_inputs([separation_dir])
    other = tmp_path / "scores.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(InputFileError, match="not a separation score file"):
        load_separation_inputs([other])
    bad_ear = per_ear_scores().assign(ear="middle")
    bad_ear.to_csv(separation_dir / "p2s_rgb_per_ear.csv", index=False)
    mono_scores().to_csv(separation_dir / "mono.csv", index=False)
    with pytest.raises(InputFileError, match="ear"):
        load_separation_inputs([separation_dir])


def test_report_command_adds_the_section(tmp_path):
    """The CLI wiring: a scores folder holding separation/ too, costs, and the page."""
    scores_dir = tmp_path / "scores"
    df = binaural_scores(0.01, 0.1, ir_sets=(ANECHOIC, ROOM, "spirit_sim"))
    for (variant, ir_set), g in df.groupby(["variant", "ir_set"]):
        write_scores(scores_dir / variant / f"{ir_set}.csv", g)
    sep = scores_dir / "separation"
    sep.mkdir()
    mono_scores().to_csv(sep / "mono.csv", index=False)
    per_ear_scores().to_csv(sep / "p2s_audiopt_per_ear.csv", index=False)
    costs = tmp_path / "audio_costs.csv"
    costs_frame().to_csv(costs, index=False)
    out = tmp_path / "report"
    assert (
        main(
            [
                "report",
                "--profile",
                "tiny",
                "--scores",
                str(scores_dir),
                "--separation-scores",
                str(sep),
                "--costs",
                str(costs),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    text = (out / "README.md").read_text()
    assert "## Audio pre-training by separation" in text and "## Tracing a number back" in text
    assert text.index("## Honest comparison") < text.index("## Audio pre-training") < text.index("## Tracing")
    assert "- per-ear scores of `p2s_rgb` (`p2s_rgb_per_ear.csv`)" in text  # params expect it; not given
    assert f"Verdict: {NOT_HELPED}." in text
    assert "lowered mean d_STFT in 0 of 9 (N, IR set) cells" in text
    assert "separation/mono.csv" not in text.split("## Tracing")[1]  # not read as binaural scores
    assert main(["report", "--profile", "tiny", "--scores", str(scores_dir), "--out", str(tmp_path / "plain")]) == 0
    assert "Audio pre-training" not in (tmp_path / "plain" / "README.md").read_text()
