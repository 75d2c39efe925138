"""The stage-cost table (Snakemake's benchmark files) and the report's HTML table pages."""

from __future__ import annotations

import subprocess
import sys

from points2sound.report.costs import NO_BENCHMARKS, stage_costs_markdown
from points2sound.report.html import markdown_table_html, write_table_pages

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _benchmark(path, wall, rss, cpu):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{wall}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t50\t{cpu}\n")
    return path


def test_stage_costs_table_from_benchmark_files(tmp_path):
    files = [
        _benchmark(tmp_path / "b" / "split.tsv", 1.25, 100.4, 0.9),
        _benchmark(tmp_path / "b" / "train_p2s_rgb.tsv", 10.0, 1200.0, 19.5),
        tmp_path / "b" / "report.tsv",
    ]
    text = stage_costs_markdown(files)
    assert "| split | 1.2 | 0.9 | 100 |" in text or "| split | 1.3 | 0.9 | 100 |" in text
    assert "| train_p2s_rgb | 10.0 | 19.5 | 1200 |" in text
    assert "| all 2 stages (sum) | 11.2 | 20.4 | |" in text or "| all 2 stages (sum) | 11.3 | 20.4 | |" in text
    assert "No benchmark file for report" in text
    page = markdown_table_html(text, "stage costs")
    assert page.count("<tr>") == 4 and "<th>stage</th>" in page and "<b>Stage costs</b>" in page


def test_stage_costs_without_benchmarks_says_so(tmp_path):
    """Under DVC there are no benchmark files: the table says to run through Snakemake."""
    assert NO_BENCHMARKS in stage_costs_markdown([tmp_path / "missing.tsv"])
    out = tmp_path / "costs.md"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "points2sound",
            "stage-costs",
            "--profile",
            "nothing",
            "--out",
            str(out),
            "--html",
            str(tmp_path / "costs.html"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "no benchmark files: run through Snakemake" in out.read_text()
    assert "run through Snakemake" in (tmp_path / "costs.html").read_text()


def test_table_pages_render_every_markdown_table(tmp_path):
    (tmp_path / "table1.md").write_text(
        "**Table 1: distances** Each cell: ours (paper).\n\n"
        "| method | d_ENV mean |\n|---|---:|\n| `p2s` a\\|b | 0.1 (0.2) |\n"
    )
    (tmp_path / "table1.csv").write_text("method\n")
    pages = write_table_pages(tmp_path)
    assert [p.name for p in pages] == ["table1.html"]
    html = pages[0].read_text()
    assert "<td><code>p2s</code> a|b</td><td>0.1 (0.2)</td>" in html and "<b>Table 1: distances</b>" in html
    assert html == markdown_table_html((tmp_path / "table1.md").read_text(), "table1")  # same bytes again
