"""Score files, summaries, tables, figures, claims and the results page, on synthetic scores."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from points2sound.data.scenes import same_side
from points2sound.errors import InputFileError, ParameterError
from points2sound.evaluate.metrics import FIELD_METRICS
from points2sound.evaluate.scores import COLUMNS, read_scores, summarize, write_scores
from points2sound.report import build_tables, check_claims, figure_p2s_vs_m2b, figure_rooms, write_report
from points2sound.report.claims import FAILS, HOLDS, NA, UNRESOLVED
from points2sound.report.paper import load_paper_numbers, paper_entry
from points2sound.report.tables import table1, table_rooms, table_same_side
from points2sound.settings.report import Bootstrap

ANECHOIC, ROOMS = "sphere_1m", ["calypso_sim", "spirit_sim"]
BOOT = Bootstrap(resamples=2000, confidence=0.95, seed=0)  # the report's bootstrap at seed 0

# (method, variant, mono_input, features, loss) -> base distance; lower is better
ENTRIES = {
    ("mono_mono", "", "true_mono", "", ""): 5.0,
    ("rotated_visual", "p2s_truemono", "true_mono", "rgb", "full"): 4.0,
    ("points2sound", "p2s_truemono", "true_mono", "rgb", "full"): 3.0,
    ("mono_mono", "", "left", "", ""): 3.5,
    ("rotated_visual", "p2s_left", "left", "rgb", "full"): 3.2,
    ("points2sound", "p2s_left", "left", "rgb", "full"): 2.0,
    ("mono_mono", "", "sum_lr", "", ""): 2.5,
    ("rotated_visual", "p2s_rgb", "sum_lr", "rgb", "full"): 2.2,
    ("points2sound", "p2s_rgb", "sum_lr", "rgb", "full"): 1.0,
    ("points2sound", "p2s_depth", "sum_lr", "xyz", "full"): 1.3,
    ("points2sound", "p2s_diff", "sum_lr", "rgb", "diff"): 1.6,
    ("mono2binaural", "m2b_rgb", "sum_lr", "rgb", "mse"): 1.8,
    ("mono2binaural", "m2b_depth", "sum_lr", "xyz", "mse"): 2.1,
}
ROOM_BASE = {"calypso_sim": 1.4, "spirit_sim": 1.9}
ROOM_MONO_MONO = {"calypso_sim": 3.0, "spirit_sim": 3.5}  # ratios 0.4 anechoic < 0.47 < 0.54, as the paper orders
AZIMUTHS = {1: [(90,), (0,)], 2: [(45, 90), (0, 270)], 3: [(0, 45, 90), (45, 135, 315)]}


def _rows(ir_set: str, entry: tuple, base: float, rng: np.random.Generator, per_n: int = 6) -> list[dict]:
    method, variant, mono_input, features, loss = entry
    rows = []
    for n in (1, 2, 3):
        for k in range(per_n):
            az = AZIMUTHS[n][k % 2]
            rows.append(
                dict(
                    scene_id=f"scene_{n}{k:04d}",
                    ir_set=ir_set,
                    method=method,
                    variant=variant,
                    mono_input=mono_input,
                    features=features,
                    loss=loss,
                    n_sources=n,
                    instruments=";".join(["cello", "violin", "guitar"][:n]),
                    azimuths_deg=";".join(map(str, az)),
                    same_side=same_side(az),
                    d_env=base * 0.1 * (1 + 0.2 * n) + rng.uniform(0, 0.01),
                    d_stft=base * (1 + 0.2 * n) + rng.uniform(0, 0.1),
                    d_env_paper=rng.uniform(1, 2),
                    d_stft_paper=rng.uniform(10, 20),
                    **{
                        m: (10.0 - base if m == "snr_db" else base * (1 + 0.1 * n)) + rng.uniform(0, 0.05)
                        for m in FIELD_METRICS
                    },
                )
            )
    return rows


def synthetic_scores(drop: tuple[str, ...] = (), seed: int = 0) -> pd.DataFrame:
    """All entries on the anechoic set, p2s_rgb in both rooms; `drop` removes variants."""
    rng = np.random.default_rng(seed)
    rows = []
    for entry, base in ENTRIES.items():
        if entry[1] not in drop:
            rows += _rows(ANECHOIC, entry, base, rng)
    for room, base in ROOM_BASE.items():
        rows += _rows(room, ("points2sound", "p2s_rgb", "sum_lr", "rgb", "full"), base, rng)
        rows += _rows(room, ("mono_mono", "", "sum_lr", "", ""), ROOM_MONO_MONO[room], rng)
    return pd.DataFrame(rows, columns=list(COLUMNS))


@pytest.fixture()
def score_files(tmp_path):
    df = synthetic_scores(drop=("p2s_diff",))
    paths = []
    for (method, variant, ir_set), g in df.groupby(["method", "variant", "ir_set"]):
        paths.append(write_scores(tmp_path / "scores" / f"{method}-{variant or 'none'}-{ir_set}.csv", g))
    return paths


def _mean(df, ir_set, method, variant, mono_input, metric, n=None):
    m = (df.ir_set == ir_set) & (df.method == method) & (df.variant == variant) & (df.mono_input == mono_input)
    if n is not None:
        m &= df.n_sources == n
    return float(np.mean(df.loc[m, metric].to_numpy()))


# ---------------------------------------------------------------------------
# Score files
# ---------------------------------------------------------------------------


def test_scores_round_trip_with_types(score_files):
    df = read_scores(score_files)
    expected = synthetic_scores(drop=("p2s_diff",))
    assert len(df) == len(expected)
    assert df["n_sources"].dtype.kind == "i" and df["same_side"].dtype == bool
    assert set(df["variant"]) >= {"", "p2s_rgb"}  # empty strings stay empty, not NaN
    assert df["d_stft"].sum() == pytest.approx(expected["d_stft"].sum(), rel=1e-11)
    assert df["source_file"].map(lambda p: p.endswith(".csv")).all()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.drop(columns=["d_stft"]), "missing score columns"),
        (lambda d: d.assign(method="mono2mono"), "'method'"),
        (lambda d: d.assign(same_side="maybe"), "'same_side'"),
        (lambda d: d.assign(d_env="nan"), "'d_env'"),
        (lambda d: d.assign(d_stft=-1.0), "'d_stft'"),
        (lambda d: d.assign(n_sources=1.5), "'n_sources'"),
        (lambda d: d.assign(scene_id="scene_same"), "scored twice"),
    ],
)
def test_read_scores_names_the_bad_file(tmp_path, mutate, message):
    good = synthetic_scores().query("ir_set == @ANECHOIC and variant == 'p2s_rgb' and method == 'points2sound'")
    path = tmp_path / "bad.csv"
    mutate(good).to_csv(path, index=False)
    with pytest.raises(InputFileError, match=rf"bad\.csv: .*{message}"):
        read_scores([path])


def test_read_scores_rejects_a_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="nothere.csv: score file not found"):
        read_scores([tmp_path / "nothere.csv"])


def test_summarize_per_n_and_overall():
    df = synthetic_scores()
    df = df.drop(
        df.index[
            (df.ir_set == ANECHOIC) & (df.method == "points2sound") & (df.variant == "p2s_rgb") & (df.n_sources == 3)
        ][:4]
    )  # unequal counts for one entry
    s = summarize(df, ["d_env", "d_stft"])
    row = s[(s.ir_set == ANECHOIC) & (s.method == "points2sound") & (s.variant == "p2s_rgb")].iloc[0]
    for n in (1, 2, 3):
        assert row[f"d_stft_n{n}"] == pytest.approx(
            _mean(df, ANECHOIC, "points2sound", "p2s_rgb", "sum_lr", "d_stft", n)
        )
    sel = df[(df.ir_set == ANECHOIC) & (df.method == "points2sound") & (df.variant == "p2s_rgb")]
    assert row["d_stft_all"] == pytest.approx(sel["d_stft"].sum() / len(sel))
    assert (row["count_n1"], row["count_n3"], row["count_all"]) == (6, 2, 14)
    per_n = summarize(df, ["d_stft"], overall="per_n")
    row2 = per_n[(per_n.ir_set == ANECHOIC) & (per_n.variant == "p2s_rgb") & (per_n.method == "points2sound")].iloc[0]
    assert row2["d_stft_all"] == pytest.approx(np.mean([row[f"d_stft_n{n}"] for n in (1, 2, 3)]))
    assert row2["d_stft_all"] != pytest.approx(row["d_stft_all"])
    with pytest.raises(ParameterError, match="'overall'"):
        summarize(df, ["d_stft"], overall="median")


def test_paper_overall_means_are_the_means_of_the_per_n_values():
    # the evidence behind summarize's definition: with 168 scenes per N both definitions agree
    numbers = load_paper_numbers()
    for table in ("table1", "table2"):
        for row in numbers[table]["rows"]:
            for m in ("d_env", "d_stft"):
                per_n = np.mean([row[m][n] for n in (1, 2, 3)])
                assert abs(per_n - row[m]["mean"]) <= 0.001, (row["label"], m)
    assert paper_entry("points2sound", "p2s_rgb", "sum_lr")["d_stft"]["mean"] == 0.794


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------


def test_table1_cells_are_the_entry_means_beside_the_paper(score_files):
    df = read_scores(score_files)
    t = table1(df, "demo", ANECHOIC)
    assert len(t.index) == 11 and "profile demo" in t.caption
    col = {c: j for j, c in enumerate(t.columns)}
    for i in range(len(t.index)):
        paper = load_paper_numbers()["table1"]["rows"][i]
        key = (paper["method"], paper["variant"], paper["mono_input"])
        for n in (1, 2, 3):
            if key[1] == "p2s_diff":
                assert math.isnan(t.ours[i, col[("d_env", f"n{n}")]])
            else:
                assert t.ours[i, col[("d_env", f"n{n}")]] == pytest.approx(_mean(df, ANECHOIC, *key, "d_env", n))
            assert t.paper[i, col[("d_stft", f"n{n}")]] == paper["d_stft"][n]
        if key[1] != "p2s_diff":
            assert t.ours[i, col[("d_stft", "all")]] == pytest.approx(_mean(df, ANECHOIC, *key, "d_stft"))
    assert t.index[8] == ("s_L + s_R", "Points2Sound (L_full)")
    assert t.paper[8, col[("d_stft", "all")]] == 0.794


def test_missing_variant_shows_na_and_files_are_written(score_files, tmp_path):
    df = read_scores(score_files)
    t = table1(df, "demo", ANECHOIC)
    paths = t.write(tmp_path / "tables")
    assert [p.name for p in paths] == ["table1.csv", "table1.md", "table1.tex"]
    md = paths[1].read_text()
    diff_line = next(line for line in md.splitlines() if "L_diff" in line)
    assert "n/a (0.153)" in diff_line and "n/a (1.063)" in diff_line
    csv = pd.read_csv(paths[0], keep_default_na=False)
    diff = csv[csv["method"] == "Points2Sound (L_diff)"].iloc[0]
    assert diff["d_env_n1_ours"] == "n/a" and float(diff["d_env_n1_published"]) == 0.015 and diff["scenes"] == 0
    rgb = csv[(csv["method"] == "Points2Sound (L_full)") & (csv["mono input"] == "s_L + s_R")].iloc[0]
    assert float(rgb["d_stft_all_ours"]) == pytest.approx(
        _mean(df, ANECHOIC, "points2sound", "p2s_rgb", "sum_lr", "d_stft"), rel=1e-5
    )
    assert rgb["score_files"] == "points2sound-p2s_rgb-sphere_1m.csv"
    tex = paths[2].read_text()
    assert "\\begin{tabular}" in tex and "L\\_diff" in tex and "profile demo" in tex
    assert "n/a (0.153)" in tex


def test_same_side_and_rooms_tables(score_files):
    df = read_scores(score_files)
    side = table_same_side(df, "demo", ANECHOIC)
    sel = df[(df.ir_set == ANECHOIC) & (df.variant == "p2s_rgb") & (df.method == "points2sound") & (df.n_sources == 2)]
    assert side.ours[0, 0] == pytest.approx(sel.loc[sel.same_side, "d_env"].mean())
    assert side.ours[1, 1] == pytest.approx(sel.loc[~sel.same_side, "d_stft"].mean())
    assert side.paper.tolist() == [[0.044, 0.284], [0.084, 0.944]]
    rooms = table_rooms(df, "demo", ANECHOIC)
    assert [r[1] for r in rooms.index] == [ANECHOIC, *ROOMS]
    col = {c: j for j, c in enumerate(rooms.columns)}
    assert rooms.ours[1, col[("d_stft", "n1")]] == pytest.approx(
        _mean(df, "calypso_sim", "points2sound", "p2s_rgb", "sum_lr", "d_stft", 1)
    )
    assert rooms.paper[1, col[("d_stft", "n1")]] == 1.081 and rooms.paper[1, col[("d_stft", "n3")]] == 2.180
    assert math.isnan(rooms.paper[1, col[("d_stft", "n2")]]) and rooms.paper[2, col[("d_stft", "n1")]] == 4.491
    assert rooms.paper[0, col[("d_env", "all")]] == 0.067
    assert "(–)" in rooms.to_markdown()


def test_tables_survive_an_empty_run():
    empty = synthetic_scores().iloc[:0]
    for t in build_tables(empty, "tiny", ANECHOIC):
        assert np.isnan(t.ours).all()
        assert "n/a" in t.to_markdown() and t.to_latex()


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------


def test_figures_are_valid_and_reproducible(score_files, tmp_path):
    df = read_scores(score_files)
    paths = figure_rooms(df, tmp_path / "figure4", "demo", ANECHOIC)
    paths += figure_p2s_vs_m2b(df, tmp_path / "figure5", "demo", ANECHOIC)
    assert [p.name for p in paths] == ["figure4.png", "figure4.pdf", "figure5.png", "figure5.pdf"]
    first = [p.read_bytes() for p in paths]
    assert first[0].startswith(b"\x89PNG\r\n\x1a\n") and first[1].startswith(b"%PDF-")
    assert b"CreationDate" not in first[1]
    again = figure_rooms(df, tmp_path / "figure4", "demo", ANECHOIC)
    again += figure_p2s_vs_m2b(df, tmp_path / "figure5", "demo", ANECHOIC)
    assert [p.read_bytes() for p in again] == first


def test_figure_without_scores_still_draws(tmp_path):
    empty = synthetic_scores().iloc[:0]
    paths = figure_p2s_vs_m2b(empty, tmp_path / "figure5", "tiny", ANECHOIC)
    assert all(p.stat().st_size > 0 for p in paths)


# ---------------------------------------------------------------------------
# Claims and the page
# ---------------------------------------------------------------------------


def _verdicts(df) -> dict[str, dict[str, str]]:
    return {c.statement: c.verdicts for c in check_claims(df, ANECHOIC, boot=BOOT)}


def test_claims_follow_the_data():
    df = synthetic_scores()
    # same-side and other N = 2 scenes of the headline get the same values: no resolved difference
    n2 = (df.variant == "p2s_rgb") & (df.method == "points2sound") & (df.n_sources == 2) & (df.ir_set == ANECHOIC)
    means = {m: df.loc[n2, m].mean() for m in ("d_env", "d_stft")}
    for side in (True, False):
        rows = df.index[n2 & (df.same_side == side)]
        for m, mean in means.items():
            df.loc[rows, m] = mean * (1 + 0.01 * (np.arange(len(rows)) % 3 - 1))
    v = _verdicts(df)
    # ENTRIES are built in the paper's order, so every ordering holds on both metrics, except that one
    same = "N = 2: sources on the same side beat other configurations"
    assert v.pop(same) == {"d_env": UNRESOLVED, "d_stft": UNRESOLVED}
    assert all(m == {"d_env": HOLDS, "d_stft": HOLDS} for m in v.values()), v
    assert "drier rooms beat more reverberant ones: calypso_sim (RT60 0.17 s) < spirit_sim (RT60 0.5 s)" in v
    # make L_diff better than L_full on d_env only
    mask = df.variant == "p2s_diff"
    df.loc[mask, "d_env"] = 0.0
    # and Spirit better than Calypso on both
    df.loc[(df.ir_set == "spirit_sim") & (df.method == "points2sound"), ["d_env", "d_stft"]] = 0.001
    v = _verdicts(df)
    assert v["L_full beats L_diff"] == {"d_env": FAILS, "d_stft": HOLDS}
    rooms = next(k for k in v if k.startswith("drier rooms"))
    assert v[rooms] == {"d_env": FAILS, "d_stft": FAILS}
    assert v["anechoic beats room spirit_sim (Points2Sound rgb-depth)"] == {"d_env": FAILS, "d_stft": FAILS}
    assert v["anechoic beats room calypso_sim (Points2Sound rgb-depth)"] == {"d_env": HOLDS, "d_stft": HOLDS}


def test_mono_input_ordering_and_missing_entries():
    df = synthetic_scores(drop=("p2s_depth",))
    df.loc[df.variant == "p2s_left", "d_stft"] += 10.0  # s_L now worse than true mono on d_STFT
    v = _verdicts(df)
    assert v["mono inputs ordered s_L + s_R < s_L < true mono (Points2Sound)"] == {"d_env": HOLDS, "d_stft": FAILS}
    assert v["rgb-depth beats depth only (Points2Sound)"] == {"d_env": NA, "d_stft": NA}


def test_write_report(score_files, tmp_path):
    df = read_scores(score_files)
    out = tmp_path / "results" / "demo"
    tables = build_tables(df, "demo", ANECHOIC)
    figs = {"Figure 4": figure_rooms(df, out / "figures" / "figure4", "demo", ANECHOIC)}
    wav = out / "examples" / "scene_10000_p2s_rgb.wav"
    wav.parent.mkdir(parents=True)
    wav.write_bytes(b"RIFF")
    run_info = dict(
        profile="demo",
        scenes_dir="data/demo/scenes",
        data_source="embedded",
        git_commit="0123abc",
        params_hash="feedbeef",
        anechoic=ANECHOIC,
        rooms=ROOMS,
        bootstrap=BOOT,
    )
    page = write_report(out, df, run_info, tables, figs, {"N = 2, p2s_rgb": wav})
    text = page.read_text()
    assert page == out / "README.md"
    for needle in (
        "profile `demo`",
        "0123abc",
        "feedbeef",
        "embedded",
        "](figures/figure4.png)",
        "](examples/scene_10000_p2s_rgb.wav)",
        "## Honest comparison",
        "test_<ir_set>/scenes.csv",
        "<scene_id>.npz",
        "points2sound-p2s_rgb-sphere_1m.csv",
        "](tables/table1.tex)",
    ):
        assert needle in text, needle
    for name in ("table1", "table2", "table_same_side", "table_rooms"):
        assert all((out / "tables" / f"{name}.{ext}").is_file() for ext in ("csv", "md", "tex"))
    line = next(x for x in text.splitlines() if x.startswith("| L_full beats L_diff"))
    assert "n/a (not run: Points2Sound L_diff)" in line
    line = next(x for x in text.splitlines() if x.startswith("| Points2Sound beats Mono-Mono, mono input s_L + s_R"))
    assert line.count(f"| {HOLDS} |") == 2 and line.count("(paired) |") == 2 and "95 % CI" in text
    assert "d_STFT depends on the sample rate" in text and "table_metrics" in text


# ---------------------------------------------------------------------------
# Uncertainty: standard errors, ratios to Mono-Mono, bootstrap intervals, explanations
# ---------------------------------------------------------------------------


def test_cells_carry_standard_errors_and_ratios_to_mono_mono(score_files):
    from points2sound.report.stats import standard_error

    df = read_scores(score_files)
    t = table1(df, "demo", ANECHOIC)
    col = {c: j for j, c in enumerate(t.columns)}
    i = t.index.index(("s_L + s_R", "Points2Sound (L_full)"))
    sel = df[(df.ir_set == ANECHOIC) & (df.variant == "p2s_rgb") & (df.method == "points2sound")]
    mm = df[(df.ir_set == ANECHOIC) & (df.method == "mono_mono") & (df.mono_input == "sum_lr")]
    n1 = sel[sel.n_sources == 1]
    assert t.se[i, col[("d_env", "n1")]] == pytest.approx(np.std(n1.d_env, ddof=1) / math.sqrt(len(n1)))
    assert standard_error([1.0]) != standard_error([1.0])  # NaN below two scenes
    joined = sel.merge(mm, on="scene_id", suffixes=("", "_mm"))
    assert t.ratio[i, col[("d_stft", "all")]] == pytest.approx(joined.d_stft.mean() / joined.d_stft_mm.mean())
    assert t.paper_ratio[i, col[("d_stft", "all")]] == pytest.approx(0.794 / 4.072)
    md = t.to_markdown()
    line = next(x for x in md.splitlines() if x.startswith("| s_L + s_R | Points2Sound (L_full) |"))
    assert "±" in line and "×" in line and "(×0.19)" in line
    frame = t.to_frame()
    assert {"d_env_n1_se", "d_env_n1_vs_mono_mono", "d_env_n1_published_vs_mono_mono"} <= set(frame.columns)


def test_metrics_table_has_every_field_metric_with_errors(score_files):
    from points2sound.evaluate.metrics import FIELD_METRICS
    from points2sound.report.tables import table_metrics

    df = read_scores(score_files)
    t = table_metrics(df, "demo", ANECHOIC)
    assert [m for m, _ in t.columns] == ["d_env", "d_stft", *FIELD_METRICS]
    j = [m for m, _ in t.columns].index("snr_db")
    i = next(k for k, r in enumerate(t.index) if r[2] == "p2s_rgb" and r[1].startswith("Points2Sound"))
    sel = df[(df.ir_set == ANECHOIC) & (df.variant == "p2s_rgb") & (df.method == "points2sound")]
    mm = df[(df.ir_set == ANECHOIC) & (df.method == "mono_mono") & (df.mono_input == "sum_lr")]
    # SNR: the median (a capped exact copy cannot dominate it), Δ the median per-scene difference in dB
    assert t.columns[j] == ("snr_db", "median") and t.ours[i, j] == pytest.approx(sel.snr_db.median())
    per_scene = sel.set_index("scene_id").snr_db - mm.set_index("scene_id").snr_db
    assert t.ratio[i, j] == pytest.approx(per_scene.median())
    md = t.to_markdown()
    assert "Δ" in md and "(–)" not in md and "SNR (dB) median" in md


def test_old_score_files_without_the_field_metrics_still_read(score_files, tmp_path):
    from points2sound.evaluate.metrics import FIELD_METRICS
    from points2sound.evaluate.scores import PAPER_COLUMNS

    old = tmp_path / "old.csv"
    pd.read_csv(score_files[0]).loc[:, list(PAPER_COLUMNS)].to_csv(old, index=False)
    df = read_scores([old])
    assert df[list(FIELD_METRICS)].isna().all().all() and len(df)
    with pytest.raises(InputFileError, match="missing score columns"):
        write_scores(tmp_path / "new.csv", df.drop(columns=["d_mag"]))


def test_bootstrap_is_seeded_paired_and_covers_the_true_difference():
    from points2sound.report.stats import FAILS, bootstrap_difference

    rng = np.random.default_rng(3)
    scene = [f"s{k}" for k in range(200)]
    common = rng.normal(0, 1, 200)  # a large per-scene effect shared by both sides
    a = pd.DataFrame({"scene_id": scene, "x": common})
    b = pd.DataFrame({"scene_id": scene[::-1], "x": (common + 0.1 + rng.normal(0, 0.05, 200))[::-1]})
    boot = Bootstrap(1000, 0.95, seed=1)
    paired = bootstrap_difference(a, b, "x", True, boot, "k")
    assert paired.verdict == HOLDS and paired.low < 0.1 < paired.high and paired.n_better == 200
    assert bootstrap_difference(a, b, "x", True, boot, "k") == paired  # the same draws
    assert bootstrap_difference(a, b, "x", True, Bootstrap(1000, 0.95, 2), "k").low != paired.low
    unpaired = bootstrap_difference(a, b, "x", False, boot, "k")
    assert unpaired.verdict == UNRESOLVED and unpaired.high - unpaired.low > 5 * (paired.high - paired.low)
    assert bootstrap_difference(b, a, "x", True, boot, "k").verdict == FAILS
    # a direct percentile bootstrap of the per-scene differences gives the same interval
    d = (b.set_index("scene_id").x - a.set_index("scene_id").x).sort_index().to_numpy()
    idx = boot.rng("k").integers(0, len(d), size=(1000, len(d)))
    assert paired.low == pytest.approx(np.quantile(d[idx].mean(axis=1), 0.025))
    wider = bootstrap_difference(a, b, "x", True, Bootstrap(1000, 0.999, 1), "k")
    assert wider.low < paired.low and wider.high > paired.high


def test_explanations_compare_with_mono_mono_on_the_same_scenes():
    from points2sound.report.claims import explanations_markdown

    df = synthetic_scores()
    # depth only better than rgb-depth (a learned difference: the same Mono-Mono on both sides)
    df.loc[df.variant == "p2s_depth", "d_env"] *= 0.5
    # s_L + s_R worse than s_L for the models *and* for Mono-Mono (a difference of the inputs)
    for method in ("points2sound", "mono_mono"):
        m = (df.method == method) & (df.mono_input == "sum_lr")
        df.loc[m, "d_env"] += 1.0
    claims = check_claims(df, ANECHOIC, boot=Bootstrap(500, 0.95, 7))
    v = {c.statement: c.verdicts for c in claims}
    assert v["rgb-depth beats depth only (Points2Sound)"]["d_env"] == FAILS
    items = explanations_markdown(claims, df, Bootstrap(500, 0.95, 7))
    depth = next(x for x in items if "rgb-depth beats depth only (Points2Sound)**, d_ENV" in x)
    assert "same Mono-Mono baseline" in depth and "learned a larger gain" in depth
    inputs = next(x for x in items if x.startswith("- **mono inputs ordered") and "d_ENV" in x)
    assert "the baseline shows the same reversed ordering" in inputs and "already in the inputs" in inputs
    assert not any("L_full beats L_diff" in x and "d_STFT" in x for x in items)  # holds: nothing to explain


def test_azimuth_figure(score_files, tmp_path):
    from points2sound.report import figure_azimuth

    df = read_scores(score_files)
    paths = figure_azimuth(df, tmp_path / "az", "demo", ANECHOIC)
    first = [p.read_bytes() for p in paths]
    assert first[0].startswith(b"\x89PNG") and first[1].startswith(b"%PDF-")
    assert [p.read_bytes() for p in figure_azimuth(df, tmp_path / "az", "demo", ANECHOIC)] == first
    empty = figure_azimuth(df.iloc[:0], tmp_path / "none", "demo", ANECHOIC)
    assert all(p.stat().st_size > 0 for p in empty)


def test_learning_curves_figure_reads_dvclive_folders(tmp_path):
    import json

    from points2sound.report.figures import figure_learning_curves, read_history, read_summary

    runs = {}
    for name, slope in (("p2s_rgb", -1e-6), ("m2b_rgb", -5e-7)):
        folder = tmp_path / name / "plots" / "metrics"
        folder.mkdir(parents=True)
        steps = np.arange(250, 2001, 250)
        for metric, values in (("val_l1", 0.031 + slope * steps), ("val_l1_mono_copy", np.full(len(steps), 0.031))):
            pd.DataFrame({"step": steps, metric: values}).to_csv(folder / f"{metric}.tsv", sep="\t", index=False)
        runs[name] = tmp_path / name
    (runs["p2s_rgb"] / "metrics.json").write_text(json.dumps({"best_iteration": 2000, "val_l1_rotated": 0.04}))
    assert read_summary(runs["m2b_rgb"]) == {}  # a run without its summary still draws
    assert read_history(runs["m2b_rgb"], "val_l1_rotated") is None
    assert list(read_history(runs["p2s_rgb"], "val_l1")["step"]) == list(range(250, 2001, 250))
    paths = figure_learning_curves(runs, tmp_path / "curves", "demo")
    first = [p.read_bytes() for p in paths]
    assert first[0].startswith(b"\x89PNG") and first[1].startswith(b"%PDF-")
    assert [p.read_bytes() for p in figure_learning_curves(runs, tmp_path / "curves", "demo")] == first
    (runs["p2s_rgb"] / "plots" / "metrics" / "val_l1.tsv").write_text("iteration\tloss\n1\t2\n")
    with pytest.raises(InputFileError, match="val_l1.tsv.*not a dvclive history"):
        figure_learning_curves(runs, tmp_path / "bad", "demo")
