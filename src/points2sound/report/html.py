"""HTML copies of the report's tables (`tables/<name>.html`), for `snakemake --report`.

Snakemake's report shows an HTML result inside the page, where a Markdown or CSV file is only a
download; each table's Markdown (a bold caption line, then a pipe table) becomes a small standalone
page. The CSVs stay the tables' data (the reproduction section compares those).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from ..atomic import write_text

_SPLIT = re.compile(r"(?<!\\)\|")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")


def _inline(text: str) -> str:
    out = html.escape(text.replace("\\|", "|"))
    return _CODE.sub(r"<code>\1</code>", _BOLD.sub(r"<b>\1</b>", out))


def _cells(line: str) -> list[str]:
    return [c.strip() for c in _SPLIT.split(line.strip().strip("|"))]


def markdown_table_html(markdown: str, title: str) -> str:
    """A standalone page of one table in the report's Markdown form."""
    body: list[str] = []
    rows: list[str] = []
    for line in markdown.splitlines():
        if line.startswith("|"):
            rows.append(line)
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
    if rows:
        header, *rest = rows
        rest = [r for r in rest if not set(r) <= set("|-: ")]  # the alignment row
        table = ["<table>", "<tr>" + "".join(f"<th>{_inline(c)}</th>" for c in _cells(header)) + "</tr>"]
        table += ["<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in _cells(r)) + "</tr>" for r in rest]
        body += table + ["</table>"]
    style = (
        "body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#f3f3f3}"
        "td:first-child,th:first-child{text-align:left}"
    )
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title><style>{style}</style></head><body>",
            *body,
            "</body></html>",
            "",
        ]
    )


def write_table_pages(tables_dir: Path) -> list[Path]:
    """`<name>.html` beside every `<name>.md` of the tables folder; return their paths."""
    pages = []
    for md in sorted(tables_dir.glob("*.md")):
        page = md.with_suffix(".html")
        write_text(page, markdown_table_html(md.read_text(), md.stem))
        pages.append(page)
    return pages
