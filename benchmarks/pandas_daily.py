"""The project's daily job as one plain pandas + LightGBM script (issue 20's reference).

    PYTHONPATH=. python benchmarks/pandas_daily.py --raw-data-path data/raw \
        --warehouse warehouse/segment_and_predict.duckdb --out /tmp/pandas_daily \
        [--as-of-date YYYY-MM-DD] [--check-against warehouse/segment_and_predict.duckdb]

What it reproduces, for the scoring date only (``--as-of-date``, default the day after the
last event, as ``int_snapshot_dates`` does):

- reading the raw Parquet export (one file ``<table>.parquet`` or a folder of part files)
  with pyarrow, and the staging models' row quarantine (``macros/quarantine.sql``): missing
  keys, exact and conflicting duplicate keys, unknown customers/orders, non-finite numbers,
  the contract's ``quarantine_unless`` and ``sane_range`` rules, events dated before sign-up
  or after the load date; then staging's casts and text clean-up;
- every column of ``customer_features`` for every customer who signed up before the date,
  as ``models/intermediate/*.sql`` and the column meta of ``_features__models.yml`` compute
  them (fills only when the raw table has rows, amounts summed exactly in 1e-9 units as the
  SQL's DECIMAL(38, 9)), with the BG/NBD features fitted on that date's purchase histories;
- the serving models (``serving_models``) loaded from the warehouse's JSON: the probability
  from LightGBM, the top-3 reasons from LightGBM's ``pred_contrib`` (largest |SHAP| first,
  ties to the earlier feature, as ``explain.reasons``), percentile, decile, band and flag;
  the segmenter's preprocessing and nearest centroid done in numpy from its JSON;
- Parquet outputs in ``--out``: ``customer_features.parquet``, ``propensity_scores.parquet``,
  ``customer_segments.parquet``; ``--check-against WAREHOUSE`` compares them with the
  warehouse's rows of the same date (max abs differences, rows and reasons that differ) and
  exits 1 when anything differs. On generated exports (4K and 20K customers, and the test
  suite's defective export) every feature, probability, reason and segment is equal bit for
  bit.

Deliberately left out: training (the daily job never trains), the training snapshots and
labels, monitoring, marts, the BI snapshot, and the checks that stop a build rather than
shape its rows: the structural checks of the export (column types, time zones, stray files
beside a table's layout), the data-quality gate (a table with over 5% of its rows
quarantined stops the build; here those rows are only dropped and counted) and the
data_quality_issues table. The dbt vars are not read: their defaults are constants below.

From the project's package it imports only the BG/NBD maths
(``segment_and_predict.ml.propensity.btyd``: a fit and three closed-form predictions, what a
user would take from a BTYD library); the rest is written here. It reads two project files
that are data, not code: the contract's seed ``seeds/product_category_groups.csv`` and the
model JSON in the warehouse (DuckDB is used only to fetch that JSON and, in the check, the
warehouse's tables).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from segment_and_predict.ml.propensity import btyd

ROOT = Path(__file__).resolve().parents[1]
LOOKBACK_DAYS = 365  # dbt var feature_lookback_days
WINDOW_DAYS = 30  # dbt var label_window_days (the BG/NBD horizon)
CATEGORY_GROUPS = ("electronics", "home", "fashion", "beauty", "sports", "grocery", "other")
# The SQL sums amounts as DECIMAL(38, 9): here as integers of 1e-9, exact in any order.
# Its averages of them divide in the order DuckDB's plans do (found by comparing the last
# bits): sum / (count * 1e9) for a plain avg(), (sum / 1e9) / count for the order value,
# whose query also sums the same column.
NANO = 10**9

# The columns of customer_features in order (models/features/_features__models.yml), by the
# raw table each comes from (meta raw_table: null when that table has no rows), and the
# fills (meta fill: the value without events, when the table has rows).
# fmt: off
RAW_TABLE = {
    "customers": ["age_band", "region", "acquisition_channel", "device_type"],
    "loyalty_tier_changes": ["loyalty_tier"],
    "email_subscription_changes": ["is_email_subscribed"],
    "orders": [
        "orders_30d", "orders_90d", "orders_365d", "days_since_last_order",
        "avg_order_value_365d", "total_spend_365d", "discount_usage_rate_365d",
        "avg_days_between_orders_365d", "spend_30d", "spend_prior_30d", "spend_trend_30d",
        "orders_lifetime", "days_since_first_order", "days_since_last_order_lifetime",
        "purchase_gap_mean_days", "purchase_gap_stddev_days", "recency_to_purchase_gap_ratio",
        "orders_91_180d", "bgnbd_probability_alive", "bgnbd_expected_purchases_next_window",
        "bgnbd_purchase_probability_next_window",
    ],
    "returns": ["returns_90d", "refund_rate_365d"],
    "support_tickets": ["tickets_90d", "avg_resolution_hours_365d", "last_csat_score"],
    "sessions": [
        "sessions_7d", "sessions_30d", "app_sessions_30d", "web_sessions_30d",
        "avg_session_duration_seconds_30d", "pages_per_session_30d", "product_views_30d",
        "cart_add_rate_30d", "weekend_session_share_90d", "evening_session_share_90d",
    ],
    "marketing_messages": ["email_open_rate_90d", "email_click_rate_90d", "push_click_rate_90d"],
    "order_lines": [f"share_spend_{group}" for group in CATEGORY_GROUPS],
}
FEATURES = [  # the YAML's order interleaves the tables
    *RAW_TABLE["customers"], "loyalty_tier", "tenure_days", "is_email_subscribed",
    *RAW_TABLE["orders"], *RAW_TABLE["returns"], *RAW_TABLE["support_tickets"],
    *RAW_TABLE["sessions"][:8], *RAW_TABLE["marketing_messages"],
    *RAW_TABLE["sessions"][8:], *RAW_TABLE["order_lines"],
]
FILL = {
    "loyalty_tier": "none", "is_email_subscribed": True, "orders_30d": 0, "orders_90d": 0,
    "orders_365d": 0, "total_spend_365d": 0, "spend_30d": 0, "spend_prior_30d": 0,
    "orders_lifetime": 0, "orders_91_180d": 0, "returns_90d": 0, "tickets_90d": 0,
    "sessions_7d": 0, "sessions_30d": 0, "app_sessions_30d": 0, "web_sessions_30d": 0,
    "product_views_30d": 0,
}
BIGINT = [
    "tenure_days", "orders_30d", "orders_90d", "orders_365d", "days_since_last_order",
    "orders_lifetime", "days_since_first_order", "days_since_last_order_lifetime",
    "orders_91_180d", "returns_90d", "tickets_90d", "sessions_7d", "sessions_30d",
    "app_sessions_30d", "web_sessions_30d", "product_views_30d",
]
# fmt: on

# The raw contract's row rules (models/staging/_raw__sources.yml), per table: key, foreign
# key (column, parent table), event time, numeric columns with their sane range, and the
# quarantine_unless rules (a function of the frame giving the rows that break it).
# fmt: off
CUSTOMER = ("customer_id", "customers")
CHANGES = dict(key=["customer_id", "changed_at"], fk=CUSTOMER, event="changed_at")
RULES = {
    "customers": dict(key=["customer_id"], fk=None, event="signed_up_at"),
    "orders": dict(
        key=["order_id"], fk=CUSTOMER, event="ordered_at",
        ranges={"order_total": (0, 1e9), "discount_amount": (0, 1e9)},
        unless=[lambda f: ~(f.order_total > 0), lambda f: f.discount_amount < 0],
    ),
    "order_lines": dict(
        key=["order_id", "line_number"], fk=("order_id", "orders"), event=None,
        ranges={"line_number": (0, 1e6), "quantity": (0, 1e6), "line_total": (0, 1e9)},
        unless=[lambda f: ~(f.quantity > 0), lambda f: ~(f.line_total >= 0)],
    ),
    "returns": dict(
        key=["return_id"], fk=CUSTOMER, event="returned_at", ranges={"refund_amount": (0, 1e9)},
        unless=[lambda f: ~(f.refund_amount >= 0)],
    ),
    "sessions": dict(
        key=["session_id"], fk=CUSTOMER, event="started_at",
        ranges={"duration_seconds": (0, 604800), "pages_viewed": (0, 1e6),
                "product_views": (0, 1e6), "cart_adds": (0, 1e6)},
        unless=[lambda f: f.duration_seconds < 0],
    ),
    "marketing_messages": dict(key=["message_id"], fk=CUSTOMER, event="sent_at"),
    "support_tickets": dict(
        key=["ticket_id"], fk=CUSTOMER, event="opened_at", ranges={"csat_score": (1, 5)},
        unless=[lambda f: ~(f.csat_score.between(1, 5) | f.csat_score.isna())],
    ),
    "loyalty_tier_changes": CHANGES,
    "email_subscription_changes": CHANGES,
}
# fmt: on
COLUMNS = {  # the contract's columns, for a table that is not exported
    "customers": "customer_id signed_up_at age_band region acquisition_channel device_type",
    "orders": "order_id customer_id ordered_at order_total discount_amount",
    "order_lines": "order_id line_number product_category quantity line_total",
    "returns": "return_id order_id customer_id returned_at refund_amount reason",
    "sessions": "session_id customer_id started_at channel duration_seconds pages_viewed "
    "product_views cart_adds",
    "marketing_messages": "message_id customer_id channel sent_at opened_at clicked_at",
    "support_tickets": "ticket_id customer_id opened_at resolved_at reason csat_score",
    "loyalty_tier_changes": "customer_id changed_at loyalty_tier",
    "email_subscription_changes": "customer_id changed_at is_subscribed",
}
TIMESTAMPS = {"signed_up_at", "ordered_at", "returned_at", "started_at", "sent_at", "opened_at"}
TIMESTAMPS |= {"clicked_at", "resolved_at", "changed_at"}
IDS = {"customer_id", "order_id", "return_id", "session_id", "message_id", "ticket_id"}


# -- reading and staging --------------------------------------------------------------


def table_files(raw: Path, table: str) -> list[Path]:
    """``<table>.parquet``, or the part files of a folder ``<table>/`` or ``<table>.parquet/``."""
    for candidate in (raw / f"{table}.parquet", raw / table):
        if candidate.is_dir():
            return sorted(
                p for p in candidate.glob("*.parquet") if not p.name.startswith((".", "_"))
            )
        if candidate.is_file() and candidate.suffix == ".parquet":
            return [candidate]
    return []


def read_table(raw: Path, table: str) -> pd.DataFrame:
    """A raw table as pandas; ``_nonfinite`` marks rows with a NaN/inf number (not null)."""
    files = table_files(raw, table)
    if not files:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS[table].split()})
        return empty.assign(_nonfinite=pd.Series(dtype=bool))
    arrow = pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
    for name in IDS.intersection(arrow.column_names):  # ids are text, as staging casts them
        arrow = arrow.set_column(
            arrow.column_names.index(name), name, pc.cast(arrow.column(name), pa.string())
        )
    nonfinite = np.zeros(arrow.num_rows, dtype=bool)
    for name in RULES[table].get("ranges", {}):
        column = arrow.column(name)
        if pa.types.is_floating(column.type):
            nonfinite |= pc.invert(pc.is_finite(column)).fill_null(False).to_numpy()
    frame = arrow.to_pandas()
    frame["_nonfinite"] = nonfinite
    return frame


def round_half_away(values: np.ndarray) -> np.ndarray:
    """Round to the nearest integer, halves away from zero (DuckDB's double -> DECIMAL)."""
    rounded = np.rint(values)
    tie = np.abs(values - np.trunc(values)) == 0.5
    rounded[tie] = np.trunc(values[tie]) + np.sign(values[tie])
    return rounded


def nanos(amount: pd.Series) -> pd.Series:
    """An amount as an integer of 1e-9 units (null -> 0; only summed where not null)."""
    values = amount.to_numpy(dtype="float64", na_value=np.nan)
    return pd.Series(round_half_away(np.nan_to_num(values) * NANO).astype("int64"), amount.index)


def has_repeats(frame: pd.DataFrame, key: list[str]) -> bool:
    """Whether a key occurs more than once (Arrow hashes one text column ~6x faster)."""
    if len(key) == 1:
        return len(pc.unique(pa.array(frame[key[0]]))) < len(frame)
    return bool(frame.duplicated(key).any())


def quarantine(frame: pd.DataFrame, table: str, parents: dict, load_date) -> pd.DataFrame:
    """The rows staging keeps: every row rule of macros/quarantine.sql, applied at once."""
    rules = RULES[table]
    key, fk, event = rules["key"], rules["fk"], rules["event"]
    required = list(dict.fromkeys([*key, *([fk[0]] if fk else []), *([event] if event else [])]))
    broken = [frame[required].isna().any(axis=1), frame["_nonfinite"]]
    # exact copies keep their first row; a key whose copies differ loses all of them
    if has_repeats(frame, key):
        repeated = frame.duplicated(key, keep=False)
        data = [c for c in frame.columns if c != "_nonfinite"]
        copies = frame[repeated]
        broken.append(copies.duplicated(data).reindex(frame.index, fill_value=False))
        distinct = copies.drop_duplicates(data)
        conflicting = pd.MultiIndex.from_frame(distinct[distinct.duplicated(key, keep=False)][key])
        keys = pd.MultiIndex.from_frame(frame[key])
        broken.append(pd.Series(keys.isin(conflicting), frame.index))
    if fk:  # the parent as staging kept it
        parent = pd.Index(parents[fk[1]][fk[0]]).get_indexer(frame[fk[0]])
        broken.append(pd.Series(parent < 0, frame.index))
    for rule in rules.get("unless", []):
        broken.append(rule(frame))
    for column, (low, high) in rules.get("ranges", {}).items():
        values = frame[column].astype("float64")
        broken.append(values.notna() & ~values.between(low, high))
    if event:
        event_date = frame[event].dt.floor("D")
        if fk == CUSTOMER:
            signed_up = parents["customers"].signed_up_at.dt.floor("D").to_numpy()
            signup_date = np.where(parent >= 0, signed_up[parent], np.datetime64("NaT"))
            broken.append(event_date < signup_date)
        broken.append(event_date > pd.Timestamp(load_date))
    bad = np.logical_or.reduce([b.to_numpy(dtype=bool, na_value=True) for b in broken])
    return frame[~bad].drop(columns="_nonfinite")


def text(series: pd.Series, blank_is_null: bool = False) -> pd.Series:
    """staging's ``lower(trim(cast(x as varchar)))`` (DuckDB's trim removes spaces only)."""
    cleaned = series.astype("str").str.strip(" ").str.lower().where(series.notna())
    return cleaned.where(cleaned != "") if blank_is_null else cleaned


def stage(raw_path: Path, load_date) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Staged tables (quarantined, typed, cleaned) and each raw table's row count."""
    staged, raw_rows = {}, {}
    for table in RULES:  # parents before children: customers, orders, then the rest
        frame = read_table(raw_path, table)
        raw_rows[table] = len(frame)
        for column in frame.columns:
            if column in TIMESTAMPS:
                frame[column] = pd.to_datetime(frame[column]).astype("datetime64[us]")
        frame = quarantine(frame, table, staged, load_date)
        for column in ("age_band", "region", "acquisition_channel", "device_type", "reason"):
            if column in frame.columns:
                frame[column] = text(frame[column], blank_is_null=True)
        for column in ("loyalty_tier", "channel", "product_category"):
            if column in frame.columns:
                frame[column] = text(frame[column])
        if table == "orders":
            frame["discount_amount"] = frame["discount_amount"].fillna(0.0)
        staged[table] = frame.reset_index(drop=True)
    return staged, raw_rows


def default_scoring_date(staged: dict[str, pd.DataFrame]) -> dt.date:
    """The day after the last event that features count (int_snapshot_dates)."""
    events = {
        "orders": "ordered_at",
        "sessions": "started_at",
        "marketing_messages": "sent_at",
        "support_tickets": "opened_at",
        "returns": "returned_at",
    }
    last = max(staged[t][c].max() for t, c in events.items() if len(staged[t]))
    return (last.floor("D") + pd.Timedelta(days=1)).date()


# -- features ---------------------------------------------------------------------------


def window(frame: pd.DataFrame, at: str, as_of: pd.Timestamp, days: int | None) -> pd.DataFrame:
    """Rows strictly before ``as_of`` (and from ``as_of - days`` on), with days_before."""
    keep = frame[at] < as_of
    if days is not None:
        keep &= frame[at] >= as_of - pd.Timedelta(days=days)
    rows = frame[keep].copy()
    rows["days_before"] = (as_of - rows[at].dt.floor("D")).dt.days
    return rows


def epoch_seconds(ts: pd.Series) -> pd.Series:
    """Whole seconds since 1970 (DuckDB's date_diff('second', ...) counts these)."""
    return ts.astype("datetime64[us]").astype("int64") // 10**6


def last_value(frame: pd.DataFrame, order: list[str], value: str) -> pd.Series:
    """Per customer, ``value`` of the row that is last by ``order`` (SQL arg_max on a struct)."""
    ordered = frame.sort_values(["customer_id", *order], kind="stable")
    return ordered.groupby("customer_id")[value].last()


def order_features(orders: pd.DataFrame, as_of) -> pd.DataFrame:
    """int_orders_aggregated_to_snapshots (look-back) and int_order_history (all time)."""
    o = window(orders, "ordered_at", as_of, LOOKBACK_DAYS)
    o = o.assign(
        in30=o.days_before <= 30,
        in90=o.days_before <= 90,
        discounted=o.discount_amount > 0,
        total=nanos(o.order_total),
        secs=epoch_seconds(o.ordered_at),
    )
    o["t30"] = o.total.where(o.in30, 0)
    o["t60"] = o.total.where(~o.in30 & (o.days_before <= 60), 0)
    g = o.groupby("customer_id")
    n = g.size()
    out = pd.DataFrame(
        {
            "orders_30d": g.in30.sum(),
            "orders_90d": g.in90.sum(),
            "orders_365d": n,
            "days_since_last_order": g.days_before.min(),
            "avg_order_value_365d": g.total.sum() / NANO / n,
            "total_spend_365d": g.total.sum() / NANO,
            "discount_usage_rate_365d": g.discounted.sum() / n,
            "avg_days_between_orders_365d": (g.secs.max() - g.secs.min()) / 86400.0 / (n - 1),
            "spend_30d": g.t30.sum() / NANO,
            "spend_prior_30d": g.t60.sum() / NANO,
        }
    )
    out.loc[n < 2, "avg_days_between_orders_365d"] = np.nan

    h = window(orders, "ordered_at", as_of, None)
    h = h.assign(date=h.ordered_at.dt.floor("D"), in91_180=h.days_before.between(91, 180))
    g = h.groupby("customer_id")
    history = pd.DataFrame(
        {
            "orders_lifetime": g.size(),
            "purchase_days_lifetime": g.date.nunique(),
            "orders_91_180d": g.in91_180.sum(),
            "days_since_first_order": g.days_before.max(),
            "days_since_last_order_lifetime": g.days_before.min(),
            "days_first_to_last_purchase": (g.date.max() - g.date.min()).dt.days,
        }
    )
    # the rhythm: gaps between distinct purchase days; mean and sample sd from integer sums
    days = h[["customer_id", "date"]].drop_duplicates().sort_values(["customer_id", "date"])
    days["gap"] = days.groupby("customer_id").date.diff().dt.days
    days = days.dropna(subset="gap").astype({"gap": "int64"})
    s = days.assign(gap2=days.gap * days.gap).groupby("customer_id")
    n, s1, s2 = s.size(), s.gap.sum(), s.gap2.sum()
    history["purchase_gap_mean_days"] = s1 / n
    variance = (n * s2 - s1 * s1).astype("float64") / (n * (n - 1)).astype("float64")
    history["purchase_gap_stddev_days"] = np.sqrt(variance.where(n >= 2))
    history["recency_to_purchase_gap_ratio"] = (
        history.days_since_last_order_lifetime / history.purchase_gap_mean_days
    )
    # BG/NBD fitted on this date's purchase histories (int_bgnbd_predictions_to_snapshots)
    if len(history):
        x = history.purchase_days_lifetime.to_numpy("float64") - 1.0
        t_x = history.days_first_to_last_purchase.to_numpy("float64")
        T = history.days_since_first_order.to_numpy("float64")
        params = btyd.fit(x, t_x, T)
        history["bgnbd_probability_alive"] = btyd.probability_alive(params, x, t_x, T)
        history["bgnbd_expected_purchases_next_window"] = btyd.expected_purchases(
            params, x, t_x, T, WINDOW_DAYS
        )
        history["bgnbd_purchase_probability_next_window"] = btyd.probability_of_purchase(
            params, x, t_x, T, WINDOW_DAYS
        )
    return out.join(history, how="outer")


def line_features(lines: pd.DataFrame, orders: pd.DataFrame, groups: dict, as_of):
    """int_order_lines_aggregated_to_snapshots: share of look-back spend per category group."""
    o = window(orders, "ordered_at", as_of, LOOKBACK_DAYS)[["order_id", "customer_id"]]
    rows = lines.merge(o, on="order_id")
    rows = rows.assign(
        group=rows.product_category.map(groups).fillna("other"), total=nanos(rows.line_total)
    )
    sums = rows.pivot_table("total", "customer_id", "group", aggfunc="sum", fill_value=0)
    sums = sums.reindex(columns=list(CATEGORY_GROUPS), fill_value=0)
    # each sum cast to double, then divided (null when the customer's lines sum to 0)
    total = (sums.sum(axis=1) / NANO).replace(0.0, np.nan)
    return (sums / NANO).div(total, axis=0).add_prefix("share_spend_")


def return_features(returns: pd.DataFrame, as_of) -> pd.DataFrame:
    r = window(returns, "returned_at", as_of, LOOKBACK_DAYS)
    g = r.assign(in90=r.days_before <= 90, refund=nanos(r.refund_amount)).groupby("customer_id")
    return pd.DataFrame(
        {"returns_90d": g.in90.sum(), "refunded_amount_365d": g.refund.sum() / NANO}
    )


def ticket_features(tickets: pd.DataFrame, as_of) -> pd.DataFrame:
    t = window(tickets, "opened_at", as_of, LOOKBACK_DAYS)
    t["in90"] = t.days_before <= 90
    resolved = t[t.resolved_at < as_of].copy()
    resolved["seconds"] = epoch_seconds(resolved.resolved_at) - epoch_seconds(resolved.opened_at)
    g = resolved.groupby("customer_id").seconds
    scored = resolved[resolved.csat_score.notna()]
    return pd.DataFrame(
        {
            "tickets_90d": t.groupby("customer_id").in90.sum(),
            "avg_resolution_hours_365d": g.sum() / g.size() / 3600.0,
            "last_csat_score": last_value(scored, ["resolved_at", "csat_score"], "csat_score"),
        }
    )


def session_features(sessions: pd.DataFrame, as_of) -> pd.DataFrame:
    s = window(sessions, "started_at", as_of, 90)
    s = s.assign(
        in7=s.days_before <= 7,
        in30=s.days_before <= 30,
        weekend=s.started_at.dt.day_of_week >= 5,  # Saturday, Sunday
        evening=s.started_at.dt.hour >= 18,
    )
    s30 = s[s.in30]
    s30 = s30.assign(
        app=s30.channel == "app", web=s30.channel == "web", duration=nanos(s30.duration_seconds)
    )
    timed = s30[s30.duration_seconds.notna()].groupby("customer_id").duration
    g, g30 = s.groupby("customer_id"), s30.groupby("customer_id")
    out = pd.DataFrame(
        {
            "sessions_7d": g.in7.sum(),
            "sessions_30d": g.in30.sum(),
            "app_sessions_30d": g30.app.sum(),
            "web_sessions_30d": g30.web.sum(),
            "avg_session_duration_seconds_30d": timed.sum() / (timed.size() * NANO),
            "pages_per_session_30d": g30.pages_viewed.sum() / g30.size(),
            "product_views_30d": g30.product_views.sum(),
            "cart_adds_30d": g30.cart_adds.sum(),
            "weekend_session_share_90d": g.weekend.sum() / g.size(),
            "evening_session_share_90d": g.evening.sum() / g.size(),
        }
    )
    # sessions only 31-90 days ago: the SQL's coalesce(sum(...) filter (...), 0)
    counts = ["app_sessions_30d", "web_sessions_30d", "product_views_30d", "cart_adds_30d"]
    out[counts] = out[counts].fillna(0)
    out["cart_add_rate_30d"] = out.cart_adds_30d / out.product_views_30d.replace(0, np.nan)
    return out


def message_features(messages: pd.DataFrame, as_of) -> pd.DataFrame:
    m = window(messages, "sent_at", as_of, 90)
    m = m.assign(opened=m.opened_at < as_of, clicked=m.clicked_at < as_of)
    email = m[m.channel == "email"].groupby("customer_id")
    push = m[m.channel == "push"].groupby("customer_id")
    return pd.DataFrame(
        {
            "email_open_rate_90d": email.opened.sum() / email.size(),
            "email_click_rate_90d": email.clicked.sum() / email.size(),
            "push_click_rate_90d": push.clicked.sum() / push.size(),
        }
    )


def compute_features(staged, has_rows, as_of_date: dt.date, groups: dict) -> pd.DataFrame:
    """customer_features at ``as_of_date``: one row per customer signed up before it."""
    as_of = pd.Timestamp(as_of_date)
    customers = staged["customers"]
    people = customers[customers.signed_up_at < as_of].set_index("customer_id")
    f = people[["age_band", "region", "acquisition_channel", "device_type"]].copy()
    tiers = window(staged["loyalty_tier_changes"], "changed_at", as_of, None)
    f["loyalty_tier"] = last_value(tiers, ["changed_at", "loyalty_tier"], "loyalty_tier")
    f["tenure_days"] = (as_of - people.signed_up_at.dt.floor("D")).dt.days
    subs = window(staged["email_subscription_changes"], "changed_at", as_of, None)
    subscribed = last_value(subs, ["changed_at", "is_subscribed"], "is_subscribed")
    f["is_email_subscribed"] = subscribed.reindex(f.index)
    parts = [
        order_features(staged["orders"], as_of),
        return_features(staged["returns"], as_of),
        ticket_features(staged["support_tickets"], as_of),
        session_features(staged["sessions"], as_of),
        message_features(staged["marketing_messages"], as_of),
        line_features(staged["order_lines"], staged["orders"], groups, as_of),
    ]
    for part in parts:
        f = f.join(part)
    f["spend_trend_30d"] = f.spend_30d.fillna(0) - f.spend_prior_30d.fillna(0)
    f["refund_rate_365d"] = f.refunded_amount_365d.fillna(0) / f.total_spend_365d.replace(0, np.nan)
    unsubscribed = f.is_email_subscribed.eq(False)  # unknown counts as subscribed
    f.loc[unsubscribed, ["email_open_rate_90d", "email_click_rate_90d"]] = np.nan
    # the YAML's meta: a fill where the raw table has rows, null where it has none
    for table, columns in RAW_TABLE.items():
        for column in columns:
            if not has_rows[table]:
                f[column] = np.nan
            elif column in FILL:
                f[column] = f[column].fillna(FILL[column])
    f.insert(0, "as_of_date", as_of_date)
    f = f[["as_of_date", *FEATURES]].reset_index()
    # customer_features' column types: counts and days are BIGINT, the CSAT an INTEGER
    return f.astype(
        {
            **dict.fromkeys(BIGINT, "Int64"),
            "loyalty_tier": "str",
            "is_email_subscribed": "boolean",
            "last_csat_score": "Int32",
        }
    )


# -- the serving models -------------------------------------------------------------------


def load_models(warehouse: str) -> tuple[dict, dict, str, str]:
    """The JSON of the propensity model and the segmenter that serving_models names."""
    import duckdb  # only to fetch the stored JSON

    with duckdb.connect(warehouse, read_only=True) as con:
        serving = dict(
            con.execute("select model_kind, serving_model_id from serving_models").fetchall()
        )
        (propensity,) = con.execute(
            "select model_json from propensity_models where model_id = ?", [serving["propensity"]]
        ).fetchone()
        (segmenter,) = con.execute(
            "select model_json from segment_models where segment_model_id = ?",
            [serving["segment"]],
        ).fetchone()
    return json.loads(propensity), json.loads(segmenter), serving["propensity"], serving["segment"]


def encode(features: pd.DataFrame, encoder: dict) -> np.ndarray:
    """The model's input matrix: numbers as float64, categories as codes of the frozen levels.

    An unseen category is missing, unless the feature was capped (its last level is
    "(other)"), where every value not kept becomes that level.
    """
    X = np.empty((len(features), len(encoder["features"])), dtype="float64")
    for j, name in enumerate(encoder["features"]):
        levels = encoder["categorical_levels"].get(name)
        column = features[name]
        if levels is None:
            X[:, j] = column.astype("float64").to_numpy(na_value=np.nan)
            continue
        codes = pd.Index(levels).get_indexer(column.astype(object)).astype("float64")
        if levels[-1] == "(other)":
            codes[(codes < 0) & column.notna().to_numpy()] = len(levels) - 1
        X[:, j] = np.where(codes < 0, np.nan, codes)
    return X


def format_number(value: float) -> str:
    """A feature value as the reasons show it (explain._format_number)."""
    if float(value).is_integer():
        return str(int(value))
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return np.format_float_positional(value, precision=2, fractional=False, trim="-")


def score(features: pd.DataFrame, model: dict, model_id: str, k: int = 3) -> pd.DataFrame:
    """Probability, rank, band, flag and the top-k reasons (LightGBM's pred_contrib)."""
    booster = lgb.Booster(model_str=model["booster"])
    encoder = model["encoder"]
    X = encode(features, encoder)
    threads = int(model["num_threads"])
    probability = booster.predict(X, num_threads=threads)
    contributions = booster.predict(X, pred_contrib=True, num_threads=threads)[:, :-1]
    # largest |contribution| first, ties to the feature that comes first
    top = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :k]
    top_values = np.take_along_axis(contributions, top, axis=1)
    n = len(features)
    rank = pd.Series(probability).rank(method="min", ascending=False).to_numpy()
    decile = np.ceil(10.0 * rank / n).astype("int64")
    out = pd.DataFrame(
        {
            "customer_id": features.customer_id.to_numpy(),
            "as_of_date": features.as_of_date.to_numpy(),
            "propensity": probability,
            "propensity_percentile": 100.0 * (n - rank + 1) / n,
            "propensity_decile": decile,
            "propensity_band": np.select([decile <= 2, decile <= 5], ["high", "medium"], "low"),
            "is_predicted_buyer": probability >= model["threshold"],
        }
    )
    # each feature's values as text (one format per distinct value), "missing" for NaN
    names = np.array(encoder["features"], dtype=object)
    texts = np.empty(X.shape, dtype=object)
    for j in np.unique(top):
        levels = encoder["categorical_levels"].get(names[j])
        if levels is None:
            distinct, where = np.unique(np.round(X[:, j], 4), return_inverse=True)
            shown = [format_number(v) if not np.isnan(v) else "missing" for v in distinct]
        else:  # codes, NaN last
            where = np.where(np.isnan(X[:, j]), len(levels), X[:, j]).astype("int64")
            shown = [*levels, "missing"]
        texts[:, j] = np.array(shown, dtype=object)[where.ravel()]
    rows = np.arange(n)
    for i in range(k):
        feature, contribution = top[:, i], top_values[:, i]
        value = texts[rows, feature]
        verb = np.where(contribution > 0, "raises", "lowers")
        sentence = np.where(
            np.isnan(X[rows, feature]),
            names[feature] + " is missing " + verb + " the score",
            names[feature] + " = " + value + " " + verb + " the score",
        )
        empty = contribution == 0  # the model uses fewer than k features for this row
        reason = {"": sentence, "_feature": names[feature], "_value": value, "_direction": verb}
        for suffix, column in reason.items():
            out[f"reason_{i + 1}{suffix}"] = pd.Series(column, dtype="str").where(~empty)
    out["model_id"] = model_id
    return out


def segment(features: pd.DataFrame, model: dict, model_id: str) -> pd.DataFrame:
    """Nearest centroid in the segmenter's scaled space; new customers by the tenure rule."""
    prep = model["preprocessing"]
    Z = np.empty((len(features), len(prep["columns"])))
    for j, col in enumerate(prep["columns"]):
        raw = features[col["source"]].to_numpy(dtype="float64", na_value=np.nan, copy=True)
        raw[~np.isfinite(raw)] = np.nan
        if col["kind"] == "missing_indicator":
            x = np.isnan(raw).astype("float64")
        else:
            x = np.clip(
                np.where(np.isnan(raw), col["impute_value"], raw), col["clip_min"], col["clip_max"]
            )
            if col["transform"] == "log1p":
                x = np.log1p(np.maximum(x, 0.0))
        bound = prep["clip_scaled"] * col["weight"]
        Z[:, j] = np.clip((x - col["center"]) / col["scale"] * col["weight"], -bound, bound)
    centroids = np.asarray(model["centroids"], dtype="float64")
    d2 = ((Z[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    nearest = d2.argmin(axis=1)
    ids = np.array([s["segment_id"] for s in model["segments"]])[nearest]
    names = np.array([s["name"] for s in model["segments"]], dtype=object)[nearest]
    distance = np.sqrt(d2[np.arange(len(Z)), nearest])
    new_days = model["params"].get("new_customer_days")
    if new_days is not None:
        new = (features.tenure_days.astype("float64") < new_days).to_numpy()
        ids[new], names[new], distance[new] = 0, model["new_customer_segment"]["name"], np.nan
    return pd.DataFrame(
        {
            "customer_id": features.customer_id.to_numpy(),
            "as_of_date": features.as_of_date.to_numpy(),
            "segment_id": ids.astype("int64"),
            "segment_name": pd.Series(names, dtype="str"),
            "distance_to_centroid": distance,
            "segment_model_id": model_id,
        }
    )


# -- the check against a warehouse --------------------------------------------------------


def differences(ours: pd.Series, theirs: pd.Series) -> tuple[float, np.ndarray]:
    """Max abs difference (numbers; 0 for text) and the rows that differ.

    Numbers differ beyond 1e-12 relative (and at least 1e-12 absolute); nulls must match.
    """
    if pd.api.types.is_numeric_dtype(theirs) and not pd.api.types.is_bool_dtype(theirs):
        x = ours.astype("float64").to_numpy(na_value=np.nan)
        y = theirs.astype("float64").to_numpy(na_value=np.nan)
        gap = np.abs(np.nan_to_num(x) - np.nan_to_num(y))
        worst = float(np.where(np.isnan(x) | np.isnan(y), 0.0, gap).max(initial=0.0))
        return worst, (np.isnan(x) != np.isnan(y)) | (gap > 1e-12 * np.maximum(1, np.abs(y)))
    a, b = ours.astype(object), theirs.astype(object)
    both_null = (a.isna() & b.isna()).to_numpy()
    return 0.0, ~both_null & (a.isna().to_numpy() | b.isna().to_numpy() | (a != b).to_numpy())


def check(warehouse: str, features: pd.DataFrame, scores: pd.DataFrame, segments: pd.DataFrame):
    """Print how far this script's outputs are from the warehouse's scoring-date rows."""
    import duckdb  # reads the warehouse's tables to compare with

    as_of = features.as_of_date.iloc[0]
    ok = True
    with duckdb.connect(warehouse, read_only=True) as con:
        for name, ours in (
            ("customer_features", features),
            ("propensity_scores", scores),
            ("customer_segments", segments),
        ):
            sql = f"select * from {name} where as_of_date = ?"
            theirs = con.execute(sql, [as_of]).df().set_index("customer_id")
            ours = ours.set_index("customer_id")
            only_one = len(ours.index.symmetric_difference(theirs.index))
            ours = ours.reindex(theirs.index)
            columns = [c for c in theirs.columns if c != "as_of_date"]
            found = {c: differences(ours[c], theirs[c]) for c in columns}
            differing = {c: int(rows.sum()) for c, (_, rows) in found.items() if rows.any()}
            any_row = np.logical_or.reduce([rows for _, rows in found.values()])
            print(
                f"{name} ({as_of}): {len(ours)} rows here, {len(theirs)} in the warehouse, "
                f"{only_one} customers in one only; {int(any_row.sum())} rows differ"
            )
            if name == "customer_features":
                worst = max(found[c][0] for c in columns)
                print(f"  max abs difference of the features: {worst:.3g}")
            elif name == "propensity_scores":
                reasons = [c for c in columns if c.startswith("reason_")]
                reason_rows = np.logical_or.reduce([found[c][1] for c in reasons])
                print(
                    f"  max abs difference of the probabilities: {found['propensity'][0]:.3g}; "
                    f"customers whose reasons differ: {int(reason_rows.sum())}"
                )
            else:
                distance = found["distance_to_centroid"][0]
                print(
                    f"  customers whose segment differs: {int(found['segment_id'][1].sum())}; "
                    f"max abs difference of distance_to_centroid: {distance:.3g}"
                )
            print(f"  columns that differ (rows): {differing or 'none'}")
            ok &= not differing and not only_one
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-data-path", required=True, type=Path)
    parser.add_argument("--warehouse", required=True, help="DuckDB file holding the models")
    parser.add_argument("--out", required=True, type=Path, help="folder for the Parquet outputs")
    parser.add_argument("--as-of-date", type=dt.date.fromisoformat, default=None)
    parser.add_argument(
        "--raw-load-date",
        type=dt.date.fromisoformat,
        default=dt.date.today() + dt.timedelta(days=1),
        help="events dated after it are quarantined (default: tomorrow, as the project)",
    )
    parser.add_argument(
        "--category-groups", type=Path, default=ROOT / "seeds" / "product_category_groups.csv"
    )
    parser.add_argument("--check-against", metavar="WAREHOUSE", default=None)
    args = parser.parse_args(argv)

    timings, start = {}, time.perf_counter()

    def lap(name: str) -> None:
        timings[name] = time.perf_counter() - start - sum(timings.values())

    staged, raw_rows = stage(args.raw_data_path, args.raw_load_date)
    has_rows = {table: rows > 0 for table, rows in raw_rows.items()}
    lap("read + stage")
    last_date = default_scoring_date(staged)
    as_of_date = args.as_of_date or last_date
    first_signup = staged["customers"].signed_up_at.min().date()
    if not first_signup < as_of_date <= last_date:
        parser.error(f"--as-of-date must be after {first_signup} and at most {last_date}")
    groups = pd.read_csv(args.category_groups, dtype=str)
    groups = dict(zip(groups.product_category, groups.category_group, strict=True))
    features = compute_features(staged, has_rows, as_of_date, groups)
    lap("features")
    propensity_model, segment_model, propensity_id, segment_id = load_models(args.warehouse)
    lap("load models")
    scores = score(features, propensity_model, propensity_id)
    lap("scores + reasons")
    segments = segment(features, segment_model, segment_id)
    lap("segments")
    args.out.mkdir(parents=True, exist_ok=True)
    features.to_parquet(args.out / "customer_features.parquet", index=False)
    scores.to_parquet(args.out / "propensity_scores.parquet", index=False)
    segments.to_parquet(args.out / "customer_segments.parquet", index=False)
    lap("write")
    total = time.perf_counter() - start
    print(
        f"scored {len(features):,} customers as of {as_of_date} in {total:.2f} s "
        f"({', '.join(f'{k} {v:.2f} s' for k, v in timings.items())})"
    )
    dropped = {t: n - len(staged[t]) for t, n in raw_rows.items() if n > len(staged[t])}
    print(f"quarantined rows: {dropped or 'none'}")
    if args.check_against:
        return 0 if check(args.check_against, features, scores, segments) else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
