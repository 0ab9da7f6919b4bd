"""Assembling the self-contained HTML page: inline CSS, base64 PNG charts, no network.

The page is the Jinja2 template ``templates/report.html.j2`` (autoescaped), with
``templates/report.css`` and ``templates/report.js`` inlined. Every chart is an
``<img data-chart="<name>">`` inside a ``<figure>``; the script counts the chart
images the browser decoded into ``<body data-charts-loaded>`` and, per section, into
``<body data-sections>`` (the browser test reads both from the rendered DOM).
``SECTIONS`` is the one list of the report's sections, in page order.
"""

from __future__ import annotations

import datetime as dt
from importlib.resources import files

from markupsafe import Markup

from . import diagnostics, html
from .layout import Page, day, environment
from .queries import ReportData

# Every chart the report can hold, in page order (the tests look for these names).
CHART_NAMES: tuple[str, ...] = (
    "roc",
    "precision_recall",
    "score_histogram",
    "contact_curve",
    "calibration",
    "gains",
    "feature_importance",
    "driver_direction",
    "segment_sizes",
    "segment_profiles",
    "segment_k_selection",
    "segment_projection",
    "segment_propensity_matrix",
    "segment_migration",
    "feature_drift",
    "drift_over_time",
    "realised_performance",
    "backtest",
    "model_history",
    "missing_values",
)

# (anchor, link text, section) in page order
SECTIONS = (
    ("headline", "Headline", lambda data, page: html._headline(data)),
    ("quality", "Model quality", html._quality),
    ("cutoff", "Cut-off", diagnostics.cutoff),
    ("calibration", "Calibration", html._calibration),
    ("gains", "Gains and lift", html._gains),
    ("drivers", "Purchase drivers", html._drivers),
    ("direction", "Direction", diagnostics.driver_direction),
    ("segments", "Segments", html._segments),
    ("segment_diagnostics", "Choosing segments", diagnostics.segment_diagnostics),
    ("matrix", "Segments x propensity", html._matrix),
    ("migration", "Migration", html._migration),
    ("monitoring", "Monitoring", diagnostics.monitoring),
    ("history", "Model history", html._registry),
    ("data_quality", "Data quality", diagnostics.data_quality),
    ("sources", "Data sources", lambda data, page: html._sources(data)),
)
NAV = tuple((anchor, label) for anchor, label, _ in SECTIONS)


def _asset(name: str) -> Markup:
    """A file of templates/ inlined as is (CSS, JS: ours, not data)."""
    return Markup((files(__package__) / "templates" / name).read_text(encoding="utf-8"))


def render_report(data: ReportData, generated_at: dt.datetime | None = None) -> str:
    """The full HTML page for ``data``."""
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    page = Page()
    # Each section is HTML rendered from its template with every warehouse value
    # escaped there: it goes in as it is.
    sections = [Markup(render(data, page)) for _, _, render in SECTIONS]
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            css=_asset("report.css"),
            script=_asset("report.js"),
            charts_total=len(page.charts),
            warehouse_name=data.warehouse_path.name,
            # day() gives a date, "n/a" or an already escaped string
            scoring_date=Markup(day(data.latest_score_date)),
            generated_at=generated_at.strftime("%Y-%m-%d %H:%M UTC"),
            nav=NAV,
            sections=sections,
        )
    )
