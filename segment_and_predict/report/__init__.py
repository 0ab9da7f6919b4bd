"""The HTML run report: one self-contained page built from a warehouse after a build.

``write_report(warehouse_path, out_path)`` reads the warehouse read-only
(:mod:`.queries`; :mod:`.analysis` derives the cut-off view, the drivers' direction
and the segment projection), draws the charts with matplotlib (:mod:`.charts`,
:mod:`.diagnostic_charts`) and writes a page with inline CSS and base64 PNG images
(:mod:`.page` puts the sections of :mod:`.html` and :mod:`.diagnostics` in order),
so it opens offline.
CLI: ``segment-and-predict report [--warehouse PATH] [--out reports/report.html]``.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .page import CHART_NAMES, render_report
    from .queries import ReportData, default_warehouse_path, load_report_data

DEFAULT_REPORT_PATH = "reports/report.html"

# Loaded on first use (PEP 562): the report's modules import matplotlib and
# scikit-learn (about 1.3 s), which every CLI command would otherwise pay when it
# only reads DEFAULT_REPORT_PATH to build its parser (tests/unit/test_cli.py).
_LAZY = {
    "CHART_NAMES": ".page",
    "render_report": ".page",
    "ReportData": ".queries",
    "default_warehouse_path": ".queries",
    "load_report_data": ".queries",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "CHART_NAMES",
    "DEFAULT_REPORT_PATH",
    "ReportData",
    "default_warehouse_path",
    "load_report_data",
    "render_report",
    "write_report",
]


def write_report(
    warehouse_path: str | os.PathLike[str], out_path: str | os.PathLike[str] = DEFAULT_REPORT_PATH
) -> Path:
    """Write the HTML report of the warehouse to ``out_path`` and return that path."""
    from .dbt_docs import write_run_figures_doc
    from .page import render_report
    from .queries import load_report_data

    data = load_report_data(warehouse_path)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(data), encoding="utf-8")
    # the same figures for dbt docs (reports/dbt_docs is one of the project's docs paths)
    write_run_figures_doc(data, out.parent / "dbt_docs")
    return out
