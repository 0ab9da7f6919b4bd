"""Assembling the self-contained HTML page: inline CSS, base64 PNG charts, no network.

Every chart is an ``<img data-chart="<name>">`` inside a ``<figure>``; a tiny inline
script counts the chart images the browser decoded into
``<body data-charts-loaded>`` and, per section, into ``<body data-sections>``
(the browser test reads both from the rendered DOM).
"""

from __future__ import annotations

import datetime as dt
from html import escape

from . import diagnostics, html
from .layout import Page, day
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

CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f5f7fa;color:#1f2933;
 font:15px/1.55 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px}
header{background:#1f3a5f;color:#fff;padding:26px 28px}
header .inner{max-width:1180px;margin:0 auto}
header h1{margin:0 0 4px;font-size:26px;font-weight:600}
header p{margin:0;opacity:.85;font-size:14px}
nav{margin:18px 0 8px;font-size:14px}
nav a{color:#1f5fa8;text-decoration:none;margin-right:14px;white-space:nowrap}
section{background:#fff;border:1px solid #e1e6ec;border-radius:10px;padding:20px 24px;
 margin:18px 0}
h2{margin:0 0 12px;font-size:20px;font-weight:600}
h3{margin:18px 0 8px;font-size:16px;font-weight:600}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(165px,1fr));gap:12px}
.card{background:#f5f8fc;border-radius:8px;padding:12px 14px}
.card .label{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#52606d}
.card .value{font-size:22px;font-weight:600;margin-top:2px;overflow-wrap:anywhere}
.card .value .id{font-size:13px}
.card .note{font-size:12px;color:#52606d}
.chart{display:flex;flex-wrap:wrap;gap:18px 26px;align-items:flex-start;margin:10px 0 4px}
.chart figure{margin:0;flex:0 1 auto;max-width:100%}
.chart figure img{display:block;max-width:100%;height:auto}
.chart .explain{flex:1 1 260px;min-width:240px}
.chart.wide{flex-direction:column}
.chart.wide .explain{flex:none;max-width:900px}
.explain p{margin:0 0 10px}
.pair{display:flex;flex-wrap:wrap;gap:12px}
.pair figure{flex:1 1 460px;margin:0}
.pair figure img{display:block;max-width:100%;height:auto}
.ok{color:#1e7b46;font-weight:600}
.bad{color:#b42318;font-weight:600}
.notice{background:#fff8e6;border-left:4px solid #e0a526;padding:10px 14px;border-radius:4px}
.missing{color:#52606d;font-style:italic}
table{border-collapse:collapse;font-size:13px;margin:8px 0;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e6eaef;vertical-align:top}
th{background:#f5f8fc;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.segments{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:12px}
.segment{border:1px solid #e1e6ec;border-radius:8px;padding:12px 14px}
.segment h4{margin:0 0 4px;font-size:15px}
.segment .meta{font-size:12px;color:#52606d;margin-top:6px}
.tablewrap{overflow-x:auto}
footer{color:#52606d;font-size:12px;text-align:center;margin-top:30px}
"""

# Counts the decoded chart images into <body data-charts-loaded>, and per section into
# <body data-sections> (read by the browser test).
SCRIPT = """
(function () {
  function count() {
    var imgs = document.querySelectorAll("img[data-chart]"), n = 0;
    for (var i = 0; i < imgs.length; i++) {
      if (imgs[i].complete && imgs[i].naturalWidth > 0) { n++; }
    }
    document.body.dataset.chartsLoaded = String(n);
  }
  // "anchor:heading height:charts decoded:top:height" for every section, in CSS pixels
  // (read by the browser test, which crops each section out of a screenshot)
  function sections() {
    var out = [], all = document.querySelectorAll("main > section");
    for (var i = 0; i < all.length; i++) {
      var s = all[i], h = s.querySelector("h2"), imgs = s.querySelectorAll("img[data-chart]");
      var box = s.getBoundingClientRect(), n = 0;
      var heading = h ? Math.round(h.getBoundingClientRect().height) : 0;
      for (var j = 0; j < imgs.length; j++) {
        if (imgs[j].complete && imgs[j].naturalWidth > 0) { n++; }
      }
      out.push([s.id, heading, n, Math.round(box.top + window.scrollY),
                Math.round(box.height)].join(":"));
    }
    document.body.dataset.sections = out.join(";");
    document.body.dataset.pageHeight = String(document.documentElement.scrollHeight);
  }
  var imgs = document.querySelectorAll("img[data-chart]");
  for (var i = 0; i < imgs.length; i++) { imgs[i].addEventListener("load", count); }
  window.addEventListener("load", count);
  window.addEventListener("load", sections);
  count();
})();
"""

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


def render_report(data: ReportData, generated_at: dt.datetime | None = None) -> str:
    """The full HTML page for ``data``."""
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    page = Page()
    sections = [render(data, page) for _, _, render in SECTIONS]
    nav = " ".join(f'<a href="#{anchor}">{escape(label)}</a>' for anchor, label in NAV)
    subtitle = (
        f"Warehouse <code>{escape(data.warehouse_path.name)}</code> &middot; scoring date "
        f"{day(data.latest_score_date)} &middot; generated "
        f"{generated_at.strftime('%Y-%m-%d %H:%M UTC')}"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Segment and predict: run report</title>"
        f"<style>{CSS}</style></head>"
        f'<body data-charts-total="{len(page.charts)}" data-charts-loaded="0" data-sections="">'
        '<header><div class="inner"><h1>Segment and predict: run report</h1>'
        f"<p>{subtitle}</p></div></header>"
        f"<main><nav>{nav}</nav>{''.join(sections)}"
        "<footer>Generated by <code>segment-and-predict report</code> from the dbt "
        "warehouse. Self-contained: opens without a network connection.</footer></main>"
        f"<script>{SCRIPT}</script></body></html>\n"
    )
