"""The HTML report: built from a small hand-made warehouse, checked as a file and in Chromium.

The fixture writes the tables the report reads with plain SQL (a handful of
plausible rows each), so these tests need no dbt build and run in seconds.
"""

from __future__ import annotations

import base64
import io
import os
import re
import subprocess
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from segment_specs import DECLARED_SPECS

from segment_and_predict.cli import main
from segment_and_predict.ml.propensity.model import PropensityModel
from segment_and_predict.ml.segmentation.preprocessing import SegmentPreprocessor
from segment_and_predict.ml.segmentation.segmenter import Segmenter
from segment_and_predict.report import CHART_NAMES, load_report_data, write_report
from segment_and_predict.report.charts import matrix_table
from segment_and_predict.report.page import NAV

CHROMIUM = Path("/usr/bin/chromium")
OLD_MODEL = "prop_20261001T060000Z_aaaa1111"
NEW_FAILED_MODEL = "prop_20261101T060000Z_bbbb2222"
SEGMENTER = "seg_20261101T060000Z_cccc3333"

REGISTRIES_SQL = f"""
create table propensity_models as select * from (values
  ('{OLD_MODEL}', timestamptz '2026-10-01 06:00:00+00', '2026-09-01', 0.27, 0.36,
   0.86, 0.71, 0.66, 0.63, 0.69, 3.1, 0.84, 0.66, 0.80, 0.58, true,
   '{{"roc_auc": 0.82, "pr_auc": 0.45, "f1": 0.55}}'),
  ('{NEW_FAILED_MODEL}', timestamptz '2026-11-01 06:00:00+00', '2026-10-02', 0.28, 0.37,
   0.79, 0.41, 0.50, 0.48, 0.52, 2.2, 0.83, 0.60, 0.80, 0.57, false,
   '{{"roc_auc": 0.82, "pr_auc": 0.45, "f1": 0.55}}')
) t(model_id, trained_at, test_as_of_date, test_positive_rate, threshold,
    roc_auc, pr_auc, f1, "precision", recall, top_decile_lift, logreg_roc_auc, logreg_pr_auc,
    rule_roc_auc, rule_pr_auc, passed_quality_gate, gate_json);

create table segment_models as select * from (values
  ('seg_20261001T060000Z_dddd4444', '2026-10-01T06:00:00Z', 'kmeans', 4, 0.31, 0.86, 0.12, true,
   '{{"min_silhouette": 0.2, "min_stability": 0.75, "min_segment_share": 0.03}}'),
  ('{SEGMENTER}', '2026-11-01T06:00:00Z', 'kmeans', 4, 0.33, 0.90, 0.10, true,
   '{{"min_silhouette": 0.2, "min_stability": 0.75, "min_segment_share": 0.03}}')
) t(segment_model_id, trained_at, algorithm, k, silhouette, stability_ari,
    smallest_segment_share, passed_quality_gate, gate_json);
"""

MARTS_SQL = f"""
create table propensity_curves as
with scorers(scorer, power) as (
  values ('lightgbm', 0.25), ('logistic_regression', 0.35), ('recency_frequency_rule', 0.5)
), grid as (select i / 20.0 as t from range(0, 21) r(i)),
models(model_id) as (values ('{OLD_MODEL}'), ('{NEW_FAILED_MODEL}'))
select model_id, scorer, 'roc' as curve, t as x, power(t, power) as y, 1 - t as threshold
from models, scorers, grid
union all
select model_id, scorer, 'pr', t, 0.27 + 0.7 * (1 - power(t, 1 / power)) * (1 - t / 3), 1 - t
from models, scorers, grid;

create table propensity_calibration as
select model_id, i as probability_bin, (i - 1) / 10.0 as bin_lower, i / 10.0 as bin_upper,
       (i - 0.5) / 10.0 as mean_predicted_probability,
       least(1.0, (i - 0.5) / 10.0 * 1.05) as observed_purchase_rate,
       (400 / i)::bigint as customers, date '2026-09-01' as test_as_of_date
from range(1, 11) r(i), (values ('{OLD_MODEL}')) m(model_id);

create table propensity_gains as
with d as (
  select i as score_decile, 100 as customers,
         greatest(1, round(100 * 0.27 * (3.1 - 0.32 * (i - 1))))::bigint as buyers
  from range(1, 11) r(i)
)
select '{OLD_MODEL}' as model_id, score_decile, customers, buyers,
       buyers / customers as purchase_rate,
       sum(buyers) over (order by score_decile) / sum(buyers) over () as cumulative_share_of_buyers,
       (buyers / customers) / (sum(buyers) over () / sum(customers) over ()) as lift,
       (sum(buyers) over (order by score_decile) / sum(customers) over (order by score_decile))
         / (sum(buyers) over () / sum(customers) over ()) as cumulative_lift,
       0.9 - score_decile / 11 as min_propensity, 1.0 - score_decile / 11 as max_propensity,
       date '2026-09-01' as test_as_of_date
from d;

create table propensity_feature_importance as
select '{OLD_MODEL}' as model_id, feature_name, row_number() over () as importance_rank,
       gain as total_gain, gain / sum(gain) over () as gain_share, 10 as splits,
       gain / 1000 as mean_abs_shap
from (values ('sessions_30d', 900.0), ('days_since_last_order', 500.0), ('tenure_days', 300.0),
             ('orders_90d', 250.0), ('orders_365d', 200.0), ('total_spend_365d', 150.0),
             ('email_open_rate_90d', 100.0), ('cart_add_rate_30d', 80.0),
             ('discount_usage_rate_365d', 60.0), ('sessions_7d', 55.0),
             ('product_views_30d', 50.0), ('spend_30d', 40.0), ('returns_90d', 30.0),
             ('tickets_90d', 20.0), ('last_csat_score', 15.0), ('region', 10.0),
             ('age_band', 5.0)) f(feature_name, gain);

create table segment_profiles as
select '{SEGMENTER}' as segment_model_id, segment_id, segment_name, segment_description,
       'organic' as top_acquisition_channel, 'mobile' as top_device_type,
       'west' as top_region, customers, customers / 40 as customer_share,
       orders as avg_orders_365d, orders / 5.0 as orders_365d_vs_base,
       spend as avg_spend_365d, spend / 400.0 as spend_365d_vs_base,
       days as median_days_since_last_order, sessions as avg_sessions_30d,
       sessions / 3.0 as sessions_30d_vs_base, open_rate as avg_email_open_rate_90d,
       discount as avg_discount_usage_rate_365d,
       0.4 as spend_share_electronics, 0.35 as spend_share_home, 0.25 as spend_share_other,
       prop as mean_propensity,
       prop / 0.27 as propensity_vs_base, prop * 1.05 as observed_purchase_rate_30d,
       date '2026-10-02' as observed_purchase_rate_as_of_date,
       timestamp '2026-11-01' as as_of_date
from (values
  (1, 'Regular shoppers', 'Regular shoppers: order 2.0x as often as the average buyer.',
   10, 11.0, 900.0, 20.0, 7.0, 0.3, 0.2, 0.60),
  (2, 'Dormant customers', 'Dormant customers: 100% have not ordered in the past year.',
   14, 0.0, 0.0, null, 0.5, 0.1, null, 0.05),
  (3, 'Discount-driven shoppers', 'Discount-driven shoppers: use a discount on 92% of orders.',
   6, 4.0, 150.0, 60.0, 1.5, 0.15, 0.9, 0.20),
  (4, 'Mainstream <shoppers> & co', 'Mainstream shoppers: visit 69% less often.',
   10, 4.5, 350.0, 120.0, 1.2, 0.12, 0.15, 0.18)
) s(segment_id, segment_name, segment_description, customers, orders, spend, days, sessions,
    open_rate, discount, prop);

create table customer_segments as
select (i + 1)::varchar as customer_id, d as as_of_date, (i % 4) + 1 as segment_id,
       case (i % 4) when 0 then 'Regular shoppers' when 1 then 'Dormant customers'
            when 2 then 'Discount-driven shoppers' else 'Mainstream <shoppers> & co' end
         as segment_name,
       0.5 as distance_to_centroid, '{SEGMENTER}' as segment_model_id
from range(0, 40) r(i), (values (timestamp '2026-10-31'), (timestamp '2026-11-01')) t(d);

create table propensity_scores as
select customer_id, as_of_date, 1 - (customer_id::int - 1) / 40.0 as propensity,
       100 - (customer_id::int - 1) * 2.5 as propensity_percentile,
       ((customer_id::int - 1) // 4) + 1 as propensity_decile,
       customer_id::int <= 10 as is_predicted_buyer,
       'sessions_30d = 4 raises the score' as reason_1, null as reason_2, null as reason_3,
       '{OLD_MODEL}' as model_id
from customer_segments;

create table segment_migration as
select f.segment_id as from_segment_id, f.segment_name as from_segment_name,
       t.segment_id as to_segment_id, t.segment_name as to_segment_name,
       count(*) as customers, f.segment_id = t.segment_id as is_same_segment,
       timestamp '2026-10-31' as from_date, timestamp '2026-11-01' as to_date
from customer_segments f
join customer_segments t
  on t.customer_id = f.customer_id and t.as_of_date = timestamp '2026-11-01'
where f.as_of_date = timestamp '2026-10-31'
group by all;
"""


MONITORING_SQL = f"""
create table monitoring_feature_drift as
select date '2026-11-01' as as_of_date, '{OLD_MODEL}' as model_id, feature,
       'numeric' as feature_kind, psi, 11 as n_bins, 1000 as reference_rows, 40 as current_rows,
       0.1 as reference_null_share, null_today as current_null_share,
       2.0 as reference_mean, 2.0 + psi * 4 as current_mean, false as is_calendar_age
from (values ('sessions_30d', 0.31, 0.1), ('days_since_last_order', 0.12, 0.3),
             ('tenure_days', 0.02, 0.0), ('orders_90d', 0.01, 0.0)) f(feature, psi, null_today);

create table monitoring_score_drift as
select d as as_of_date, '{OLD_MODEL}' as model_id, 'propensity' as feature, psi
from (values (date '2026-10-30', 0.01), (date '2026-10-31', 0.03), (date '2026-11-01', 0.12))
  t(d, psi);

create table monitoring_segment_drift as
select d as as_of_date, '{SEGMENTER}' as segment_model_id, s as segment_id, psi as psi_vs_training
from (values (date '2026-10-30', 0.02), (date '2026-10-31', 0.04), (date '2026-11-01', 0.05))
  t(d, psi), range(1, 5) r(s);

create table monitoring_realised_performance as
select d as as_of_date, '{OLD_MODEL}' as model_id, 40 as customers, 11 as buyers,
       roc as roc_auc, pr as pr_auc, 0.86 as model_test_roc_auc, 0.71 as model_test_pr_auc
from (values (date '2026-09-15', 0.85, 0.69), (date '2026-10-01', 0.83, 0.66)) t(d, roc, pr);

create table segment_model_comparison as
select '{SEGMENTER}' as segment_model_id, comparison, algorithm, k, silhouette, stability_ari,
       davies_bouldin, 1000.0 as calinski_harabasz, smallest as smallest_segment_share,
       passes as passes_gate
from (values ('k_selection', 'kmeans', 3, 0.36, 0.97, 1.1, 0.22, false),
             ('k_selection', 'kmeans', 4, 0.33, 0.90, 1.2, 0.10, true),
             ('k_selection', 'kmeans', 5, 0.30, 0.70, 1.4, 0.02, false),
             ('algorithm_comparison', 'gaussian_mixture', 4, 0.21, 0.80, 1.9, 0.08, true))
  t(comparison, algorithm, k, silhouette, stability_ari, davies_bouldin, smallest, passes);

create table data_quality_issues as
select * from (values
  ('orders', 'duplicate_key', 'order_id', 3, 500, 0.006, 'o-17', date '2026-11-01'),
  ('sessions', 'future_event_time', 'session_start', 0, 900, 0.0, null, date '2026-11-01'))
  t(table_name, rule, column_name, rows_quarantined, rows_in_table, quarantined_share,
    example_key, load_date);
"""

BACKTEST_SQL = """
create table backtest_results as
select d as as_of_date, method, roc as roc_auc, roc - 0.15 as pr_auc
from (values (date '2026-08-01'), (date '2026-08-31'), (date '2026-09-30')) t(d),
     (values ('lightgbm', 0.86), ('logistic_regression', 0.84),
             ('recency_frequency_rule', 0.80)) m(method, roc);
"""

FEATURE_COLUMNS = (
    "sessions_30d",
    "days_since_last_order",
    "orders_365d",
    "total_spend_365d",
    "email_open_rate_90d",
    "discount_usage_rate_365d",
    "region",
    "share_spend_electronics",
    "share_spend_home",
)


def _features(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """customer_features-like rows: a few of the real columns, some missing values."""
    orders = rng.poisson(2.0, n).astype(float)
    spend = np.where(orders > 0, rng.gamma(2.0, 120.0, n), 0.0)
    electronics = np.where(spend > 0, rng.uniform(0, 0.7, n), np.nan)
    return pd.DataFrame(
        {
            "sessions_30d": rng.poisson(3.0, n).astype(float),
            "days_since_last_order": np.where(orders > 0, rng.exponential(60.0, n), np.nan),
            "orders_365d": orders,
            "total_spend_365d": spend,
            "email_open_rate_90d": np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
            "discount_usage_rate_365d": np.where(orders > 0, rng.random(n), np.nan),
            "region": rng.choice(["north", "south", "west"], n),
            "share_spend_electronics": electronics,
            "share_spend_home": np.where(spend > 0, (1 - electronics) * 0.5, np.nan),
        }
    )


def _buys(rng: np.random.Generator, f: pd.DataFrame) -> np.ndarray:
    logit = 0.5 * f["sessions_30d"] - 0.02 * f["days_since_last_order"].fillna(400) - 0.5
    return (rng.random(len(f)) < 1 / (1 + np.exp(-logit))).astype(int)


def add_models_and_features(con: duckdb.DuckDBPyConnection) -> None:
    """A real (tiny) LightGBM model and segmenter in the registries, and customer_features
    for the 40 customers of customer_segments: what the direction chart and the
    projection read."""
    rng = np.random.default_rng(3)
    train, valid = _features(rng, 800), _features(rng, 300)
    model = PropensityModel(num_threads=1).fit(train, _buys(rng, train), valid, _buys(rng, valid))
    today = _features(rng, 40)
    segmenter = Segmenter(
        n_clusters=4, n_init=2, max_fit_rows=None, preprocessor=SegmentPreprocessor(DECLARED_SPECS)
    ).fit(today)
    features = pd.concat(
        [
            today.assign(customer_id=[str(i + 1) for i in range(40)], as_of_date=day)
            for day in (pd.Timestamp("2026-10-31"), pd.Timestamp("2026-11-01"))
        ],
        ignore_index=True,
    )
    con.register("features_frame", features)
    con.execute(
        "create table customer_features as select customer_id, as_of_date, "
        f"{', '.join(FEATURE_COLUMNS)} from features_frame"
    )
    con.execute("alter table propensity_models add column model_json varchar")
    con.execute("alter table propensity_models add column n_test bigint")
    con.execute(
        "update propensity_models set model_json = ?, n_test = 1000 where model_id = ?",
        [model.to_json(), OLD_MODEL],
    )
    con.execute("alter table segment_models add column model_json varchar")
    con.execute(
        "update segment_models set model_json = ? where segment_model_id = ?",
        [segmenter.to_json(), SEGMENTER],
    )


def make_warehouse(
    path: Path, *, marts: bool = True, migration: bool = True, diagnostics: bool = True
) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute(REGISTRIES_SQL)
        if marts:
            con.execute(MARTS_SQL)
            if not migration:
                con.execute("delete from segment_migration")
        if marts and diagnostics:
            con.execute(MONITORING_SQL)
            add_models_and_features(con)
    if marts and diagnostics:
        with duckdb.connect(str(path.with_name(f"{path.stem}_backtest{path.suffix}"))) as con:
            con.execute(BACKTEST_SQL)
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    warehouse = make_warehouse(folder / "wh.duckdb")
    return write_report(warehouse, folder / "out" / "report.html")


def chart_images(html: str) -> dict[str, bytes]:
    found = re.findall(
        r'<img data-chart="([^"]+)"[^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html
    )
    return {name: base64.b64decode(data, validate=True) for name, data in found}


def test_report_is_self_contained_with_every_chart(report):
    assert report.exists()
    html = report.read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"<script[^>]*\bsrc=", html, re.IGNORECASE)
    assert not re.search(r"<link\b", html, re.IGNORECASE)
    assert not re.search(r"url\(", html, re.IGNORECASE)
    assert not re.search(r"@import", html, re.IGNORECASE)

    images = chart_images(html)
    assert sorted(images) == sorted(CHART_NAMES)
    for name in CHART_NAMES:
        assert f'data-chart="{name}"' in html
        image = Image.open(io.BytesIO(images[name]))
        image.load()
        assert image.format == "PNG"
        assert 300 < image.width < 1400 and 150 < image.height < 1400, (name, image.size)
    assert f'data-charts-total="{len(CHART_NAMES)}"' in html


def test_report_describes_the_serving_models_and_escapes_names(report):
    html = report.read_text(encoding="utf-8")
    headline = html.split('id="headline"')[1].split("</section>")[0]
    # The newest propensity model failed its gate: the older passing one is served.
    assert OLD_MODEL in headline and NEW_FAILED_MODEL not in headline
    assert SEGMENTER in headline
    assert "3.1x" in headline and "0.860" in headline
    history = html.split('id="history"')[1]
    assert NEW_FAILED_MODEL in history and 'class="bad">failed' in history
    assert "The top 10% of customers by score buy at" in html
    # Segment names from the warehouse are HTML-escaped.
    assert "Mainstream &lt;shoppers&gt; &amp; co" in html
    assert "<shoppers>" not in html


def test_missing_marts_and_empty_migration_are_explained(tmp_path):
    bare = write_report(make_warehouse(tmp_path / "bare.duckdb", marts=False), tmp_path / "a.html")
    html = bare.read_text(encoding="utf-8")
    for table in ("propensity_curves", "segment_profiles", "segment_migration"):
        assert f"<code>{table}</code> is not in this warehouse" in html
    assert 'data-chart="model_history"' in html

    # (diagnostics=False: the migration section does not read the diagnostics' tables,
    # and their charts are the slow part of a report)
    one_date = write_report(
        make_warehouse(tmp_path / "one.duckdb", migration=False, diagnostics=False),
        tmp_path / "b.html",
    )
    html = one_date.read_text(encoding="utf-8")
    assert "Only one assignment date so far" in html
    assert 'data-chart="segment_migration"' not in html


def test_campaign_targets_is_used_when_present(tmp_path):
    warehouse = make_warehouse(tmp_path / "ct.duckdb", diagnostics=False)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "create table campaign_targets as select * from (values "
            "('Regular shoppers', 'High (top 20%)', 777)) t(segment_name, propensity_band, "
            "customers)"
        )
    html = write_report(warehouse, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<code>campaign_targets</code>" in html


def test_cli_report_prints_the_written_path(tmp_path, capsys, monkeypatch):
    # the registries alone: this checks the command, not the sections
    warehouse = make_warehouse(tmp_path / "cli.duckdb", marts=False)
    monkeypatch.setenv("SAP_DUCKDB_PATH", str(warehouse))
    out = tmp_path / "reports" / "x.html"
    assert main(["report", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert out.exists()
    assert main(["report", "--warehouse", str(tmp_path / "nope.duckdb")]) == 2


def _chromium(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile{len(list(tmp_path.glob('profile*')))}"
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def _section_boxes(dom: str) -> tuple[dict[str, tuple[int, int, int, int]], int]:
    """{anchor: (heading height, charts decoded, top, height)} and the page height, as the
    page's script measured them in the browser."""
    body = re.search(r"<body[^>]*>", dom)
    assert body, dom[:2000]
    sections = re.search(r'data-sections="([^"]*)"', body.group(0))
    height = re.search(r'data-page-height="(\d+)"', body.group(0))
    assert sections and sections.group(1) and height, body.group(0)
    boxes = {}
    for item in sections.group(1).split(";"):
        anchor, *numbers = item.split(":")
        boxes[anchor] = tuple(int(n) for n in numbers)
    return boxes, int(height.group(1))


@pytest.mark.browser
@pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="Chromium is not installed (/usr/bin/chromium; apt-get install chromium); "
    "required when CI is set",
)
def test_report_renders_in_headless_chromium(report, tmp_path):
    """Every section renders in a real browser: its heading has a height, every chart in it
    is decoded, and its part of a full-page screenshot shows a dark heading and content."""
    assert CHROMIUM.exists(), "CI is set but /usr/bin/chromium is missing"
    url = report.resolve().as_uri()
    html = report.read_text(encoding="utf-8")

    dom = _chromium("--dump-dom", "--window-size=1280,2000", url, tmp_path=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body[^>]*>", dom.stdout)
    loaded = re.search(r'data-charts-loaded="(\d+)"', body.group(0))
    assert loaded and int(loaded.group(1)) == len(CHART_NAMES), body.group(0)
    for name in CHART_NAMES:
        assert f'data-chart="{name}"' in dom.stdout

    boxes, page_height = _section_boxes(dom.stdout)
    assert list(boxes) == [anchor for anchor, _ in NAV]
    for anchor, (heading, decoded, _, box_height) in boxes.items():
        section = html.split(f'<section id="{anchor}">')[1].split("</section>")[0]
        charts_in_section = len(re.findall(r'<img data-chart="', section))
        assert heading > 10 and box_height > heading, (anchor, heading, box_height)
        assert decoded == charts_in_section, (anchor, decoded, charts_in_section)

    screenshot = tmp_path / "report.png"
    shot = _chromium(
        f"--screenshot={screenshot}",
        "--hide-scrollbars",
        f"--window-size=1280,{page_height}",
        url,
        tmp_path=tmp_path,
    )
    assert screenshot.exists(), shot.stderr[-2000:]
    with Image.open(screenshot) as image:
        page = image.convert("RGB")
    assert page.size == (1280, page_height)
    for anchor, (heading, decoded, top, box_height) in boxes.items():
        crop = page.crop((0, top, 1280, top + box_height))
        crop.save(tmp_path / f"section_{anchor}.png")  # kept with the test's files
        grey = np.asarray(crop.convert("L"))
        # the heading: dark text in the section's first lines
        assert (grey[: 20 + heading + 20] < 90).sum() > 100, f"{anchor}: no heading drawn"
        colours = crop.getcolors(maxcolors=1_000_000)
        minimum = 200 if decoded else 20
        assert colours is None or len(colours) > minimum, f"{anchor} looks blank"
        if decoded:  # a chart: many pixels that are neither white nor the page's grey
            not_background = (grey < 235).mean()
            assert not_background > 0.03, (anchor, not_background)


def test_run_figures_are_written_as_the_project_doc_block_for_dbt_docs(report):
    doc = (report.parent / "dbt_docs" / "run_figures.md").read_text()
    assert doc.startswith("{% docs __segment_and_predict__ %}")
    assert doc.rstrip().endswith("{% enddocs %}")
    assert "| LightGBM |" in doc and "(baseline)" in doc
    assert "silhouette" in doc and "| segment | share |" in doc
    # data cannot break the Jinja of the doc block
    body = doc.split("\n", 1)[1].rsplit("{% enddocs %}", 1)[0]
    assert "{" not in body and "}" not in body


def _section_html(html: str, anchor: str) -> str:
    return html.split(f'<section id="{anchor}">')[1].split("</section>")[0]


def test_band_columns_read_high_medium_low_whatever_the_source(report, tmp_path):
    html = report.read_text(encoding="utf-8")
    assert "high = deciles 1-2, medium = deciles 3-5, low = deciles 6-10" in html
    data = load_report_data(report.parent.parent / "wh.duckdb")
    assert list(matrix_table(data.segment_matrix).columns) == ["high", "medium", "low"]

    warehouse = make_warehouse(tmp_path / "ct.duckdb", diagnostics=False)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "create table campaign_targets as select * from (values "
            "('Regular shoppers', 'low', 5), ('Regular shoppers', 'high', 7), "
            "('Regular shoppers', 'medium', 6)) t(segment_name, propensity_band, customers)"
        )
    data = load_report_data(warehouse)
    assert data.segment_matrix_source == "campaign_targets"
    assert list(matrix_table(data.segment_matrix).columns) == ["high", "medium", "low"]


def test_cutoff_view_counts_come_from_the_registry_and_the_gains(report):
    cutoff = _section_html(report.read_text(encoding="utf-8"), "cutoff")
    # n_test 1000, rate 0.27, precision 0.63, recall 0.69: 270 buyers, 186 reached,
    # 295 contacted, 109 contacted in vain, 84 missed, 621 left alone
    cells = re.findall(r'<td class="num">([\d,]+)</td>', cutoff)
    assert cells[:9] == ["186", "109", "295", "84", "621", "705", "270", "730", "1,000"]
    assert "threshold <b>0.36</b>" in cutoff
    # contact table: top 10% of the test date = decile 1 of propensity_gains (100, 84 buyers);
    # today: the top 4 of 40 scores (1.0, 0.975, 0.95, 0.925) expect 3.85 -> 4 buyers
    row = re.search(r"<tr><td[^>]*>top 10%</td>(.*?)</tr>", cutoff).group(1)
    with duckdb.connect(str(report.parent.parent / "wh.duckdb"), read_only=True) as con:
        buyers, customers = con.execute(
            "select sum(buyers), sum(customers) from propensity_gains"
        ).fetchone()
    share, lift = 84 / buyers, 0.84 / (buyers / customers)
    assert re.findall(r"<td[^>]*>([^<]*)</td>", row) == [
        "100",
        "84",
        "84%",
        f"{share:.0%}",
        f"{lift:.2f}",
        "4",
        "4",
    ]


def test_monitoring_backtest_and_data_quality_sections_show_their_tables(report):
    html = report.read_text(encoding="utf-8")
    monitoring = _section_html(html, "monitoring")
    assert "<b>2</b> above the warning level 0.1" in monitoring
    assert "<b>1</b> above the failing level 0.25" in monitoring
    assert "3 so far" in monitoring
    assert "ROC-AUC 0.830, PR-AUC 0.660" in monitoring
    assert "over 3 dates" in monitoring and "0.860" in monitoring
    quality = _section_html(html, "data_quality")
    assert "<b>3</b> rows of the export were quarantined" in quality and "o-17" in quality
    assert "Missing values" in quality
    diagnostics = _section_html(html, "segment_diagnostics")
    assert "k = 4" in diagnostics and "gaussian mixture" in diagnostics
    segments = _section_html(html, "segments")
    assert "Spend mix:" in segments and "Category mix" in segments
    direction = _section_html(html, "direction")
    assert "Signed effect by feature quintile" in direction


def test_sections_explain_what_an_older_warehouse_lacks(tmp_path):
    warehouse = make_warehouse(tmp_path / "old.duckdb", diagnostics=False)
    html = write_report(warehouse, tmp_path / "r.html").read_text(encoding="utf-8")
    for table in ("monitoring_feature_drift", "segment_model_comparison", "data_quality_issues"):
        assert f"<code>{table}</code> is not in this warehouse" in html
    assert "No backtest beside this warehouse" in html
    for name in ("driver_direction", "segment_projection", "feature_drift", "backtest"):
        assert f'data-chart="{name}"' not in html


def test_the_serving_models_are_the_ones_serving_models_names(tmp_path):
    """With serving_models in the warehouse the report names its models (the one
    serving rule), not a rule of its own; without a serving propensity model it says
    the newest one is shown."""
    warehouse = make_warehouse(tmp_path / "served.duckdb", diagnostics=False)
    older_segmenter = "seg_20261001T060000Z_dddd4444"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "create table serving_models as select * from (values "
            f"('propensity', null), ('segment', '{older_segmenter}')) "
            "t(model_kind, serving_model_id)"
        )
    data = load_report_data(warehouse)
    assert data.serving_segmenter["segment_model_id"] == older_segmenter
    assert data.serving_segmenter_is_gated
    # no propensity model serves: the newest is described, flagged as not passing
    assert data.serving_propensity["model_id"] == NEW_FAILED_MODEL
    assert not data.serving_propensity_is_gated
