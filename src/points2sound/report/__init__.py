"""Report: the paper's tables, figures and claims rebuilt from per-scene scores.

`paper` holds the published numbers, `tables` and `figures` rebuild Tables 1, 2
and Figures 4, 5 (ours beside the paper's), `claims` checks the paper's
orderings on our numbers, and `page` writes results/<profile>/README.md.
"""

from .claims import check_claims
from .figures import figure_azimuth, figure_p2s_vs_m2b, figure_rooms
from .page import write_report
from .paper import load_paper_numbers
from .tables import Table, build_tables

__all__ = [
    "Table",
    "build_tables",
    "check_claims",
    "figure_azimuth",
    "figure_p2s_vs_m2b",
    "figure_rooms",
    "load_paper_numbers",
    "write_report",
]
