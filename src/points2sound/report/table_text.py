"""The one writer of the report's tables: <name>.csv, .md and .tex (html.py makes the .html from the .md).

A table kind says what its cells are (`header`, `body`, which columns are numbers, its CSV);
`TableWriter` lays every kind out the same way, so all tables of a page look alike. The
LaTeX comes from this small formatter, so no jinja2 is needed. `FrameTable` is the kind for
a data frame (the audio pre-training section); `tables.Table` the paper's tables.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import write_text

NA = "n/a"
_TEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "–": "--",
    "±": r"$\pm$",
    "×": r"$\times$",
    "Δ": r"$\Delta$",
}


def md_escape(text: str) -> str:
    return str(text).replace("|", "\\|")


def tex(text: str) -> str:
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in str(text))


class TableWriter:
    """Markdown, LaTeX and the three files of a table; a kind defines the cells.

    A kind has `name` (the file stem) and `caption`, and defines `to_csv`, `header`, `body` and
    `right_aligned`; `legend` follows the caption, `tex_header` replaces the LaTeX header row.
    """

    name: str
    caption: str

    def to_csv(self) -> str:
        raise NotImplementedError

    def header(self) -> list[str]:
        raise NotImplementedError

    def body(self) -> list[list[str]]:
        """The rows' cells as text (escaped here for Markdown and LaTeX)."""
        raise NotImplementedError

    def right_aligned(self) -> list[bool]:
        """Per column: numbers (right-aligned) or labels."""
        raise NotImplementedError

    def legend(self) -> str:
        """What a cell shows, after the caption ('' for nothing)."""
        return ""

    def tex_header(self) -> list[str]:
        """The LaTeX header rows, already LaTeX."""
        return [" & ".join(tex(h) for h in self.header())]

    def _titled(self, caption: str) -> str:
        legend = self.legend()
        return f"{caption} {legend}" if legend else caption

    def to_markdown(self) -> str:
        lines = [
            self._titled(f"**{self.caption}**"),
            "",
            "| " + " | ".join(self.header()) + " |",
            "|" + "|".join("---:" if right else "---" for right in self.right_aligned()) + "|",
        ]
        lines += ["| " + " | ".join(md_escape(x) for x in row) + " |" for row in self.body()]
        return "\n".join(lines) + "\n"

    def to_latex(self) -> str:
        """A booktabs table."""
        align = "".join("r" if right else "l" for right in self.right_aligned())
        lines = [
            "\\begin{table}[ht]",
            "\\centering",
            "\\small",
            f"\\caption{{{tex(self._titled(self.caption))}}}",
            f"\\label{{tab:{self.name}}}",
            f"\\begin{{tabular}}{{{align}}}",
            "\\toprule",
            *(row + " \\\\" for row in self.tex_header()),
            "\\midrule",
        ]
        lines += [" & ".join(tex(x) for x in row) + " \\\\" for row in self.body()]
        lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
        return "\n".join(lines) + "\n"

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write <name>.csv, <name>.md and <name>.tex atomically; return their paths."""
        paths = [Path(out_dir) / f"{self.name}.{ext}" for ext in ("csv", "md", "tex")]
        for path, text in zip(paths, (self.to_csv(), self.to_markdown(), self.to_latex())):
            write_text(path, text)
        return paths


@dataclass
class FrameTable(TableWriter):
    """A data frame with column headers and number formats, written like the report's other tables."""

    name: str  # file stem: <name>.csv / .md / .tex
    caption: str
    frame: pd.DataFrame
    headers: Mapping[str, str] = field(default_factory=dict)  # column -> printed header
    formats: Mapping[str, str] = field(default_factory=dict)  # column -> format spec (default .3f for floats)

    def text(self, column: str, value: object) -> str:
        spec = self.formats.get(column)
        if isinstance(value, (float, np.floating)):
            if math.isnan(value):
                return NA
            if math.isinf(value):
                return "inf" if value > 0 else "-inf"
            if spec and spec.endswith("d"):  # an integer column read back as float
                return format(int(round(value)), spec)
            return format(float(value), spec or ".3f")
        if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            return format(int(value), spec if spec and spec.endswith("d") else "d")
        return str(value)

    def body(self) -> list[list[str]]:
        # itertuples keeps each column's type (iterrows would turn counts into floats)
        columns = list(self.frame.columns)
        rows = self.frame.itertuples(index=False, name=None)
        return [[self.text(c, v) for c, v in zip(columns, row)] for row in rows]

    def header(self) -> list[str]:
        return [self.headers.get(c, c) for c in self.frame.columns]

    def right_aligned(self) -> list[bool]:
        return [pd.api.types.is_numeric_dtype(self.frame[c]) for c in self.frame.columns]

    def to_csv(self) -> str:
        return self.frame.to_csv(index=False, lineterminator="\n", float_format="%.6g")
