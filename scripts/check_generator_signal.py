"""Check how much predictive signal the generated raw data carries.

Builds simple point-in-time features with DuckDB from a generated raw folder
(only events before each cutoff), labels each customer with "placed an order in
the 30 days after the cutoff", trains a quick LightGBM at cutoff - 30 days and
tests it at the default cutoff (end - 30 days). Prints the base rates and the
held-out ROC-AUC, PR-AUC and best-threshold F1.

The realism target of the generator is ROC-AUC ~0.84-0.90 (never > 0.95 or
< 0.82), PR-AUC >= 0.45 and F1 >= 0.55.

Usage:
    python scripts/check_generator_signal.py /tmp/raw [--end-date 2026-10-31]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import duckdb
import lightgbm as lgb
import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

FEATURES_SQL = """
with
base as (
    select customer_id, signed_up_at, age_band, region, acquisition_channel, device_type
    from read_parquet('{raw}/customers.parquet')
    where signed_up_at < $cutoff
),
o as (
    select customer_id,
        count(*) filter (where ordered_at >= $cutoff - interval 30 day) as orders_30d,
        count(*) filter (where ordered_at >= $cutoff - interval 90 day) as orders_90d,
        count(*) filter (where ordered_at >= $cutoff - interval 365 day) as orders_365d,
        count(*) as orders_all,
        sum(order_total) filter (where ordered_at >= $cutoff - interval 365 day) as spend_365d,
        avg(order_total) as avg_order_value,
        avg((discount_amount > 0)::int) as discount_share,
        date_diff('day', max(ordered_at), $cutoff) as days_since_last_order,
        date_diff('day', min(ordered_at), $cutoff) as days_since_first_order
    from read_parquet('{raw}/orders.parquet')
    where ordered_at < $cutoff
    group by 1
),
s as (
    select customer_id,
        count(*) filter (where started_at >= $cutoff - interval 7 day) as sessions_7d,
        count(*) filter (where started_at >= $cutoff - interval 30 day) as sessions_30d,
        count(*) filter (where started_at >= $cutoff - interval 90 day) as sessions_90d,
        sum(cart_adds) filter (where started_at >= $cutoff - interval 7 day) as cart_adds_7d,
        sum(cart_adds) filter (where started_at >= $cutoff - interval 30 day) as cart_adds_30d,
        sum(product_views) filter (where started_at >= $cutoff - interval 30 day)
            as product_views_30d,
        date_diff('day', max(started_at), $cutoff) as days_since_last_session
    from read_parquet('{raw}/sessions.parquet')
    where started_at < $cutoff and started_at >= $cutoff - interval 90 day
    group by 1
),
m as (
    select customer_id,
        avg((opened_at < $cutoff)::int) filter (where channel = 'email') as email_open_rate_90d,
        avg((clicked_at < $cutoff)::int) filter (where channel = 'email') as email_click_rate_90d,
        avg((opened_at < $cutoff)::int) filter (where channel = 'push') as push_open_rate_90d,
        count(*) filter (where clicked_at < $cutoff and clicked_at >= $cutoff - interval 30 day)
            as clicks_30d
    from read_parquet('{raw}/marketing_messages.parquet')
    where sent_at < $cutoff and sent_at >= $cutoff - interval 90 day
    group by 1
),
r as (
    select customer_id, count(*) as returns_365d, sum(refund_amount) as refunds_365d
    from read_parquet('{raw}/returns.parquet')
    where returned_at < $cutoff and returned_at >= $cutoff - interval 365 day
    group by 1
),
t as (
    select customer_id, count(*) as tickets_90d
    from read_parquet('{raw}/support_tickets.parquet')
    where opened_at < $cutoff and opened_at >= $cutoff - interval 90 day
    group by 1
),
tier as (
    select customer_id, arg_max(loyalty_tier, changed_at) as loyalty_tier
    from read_parquet('{raw}/loyalty_tier_changes.parquet')
    where changed_at < $cutoff
    group by 1
),
label as (
    select distinct customer_id, 1 as bought_in_window
    from read_parquet('{raw}/orders.parquet')
    where ordered_at >= $cutoff and ordered_at < $cutoff + interval 30 day
)
select
    base.customer_id,
    date_diff('day', base.signed_up_at, $cutoff) as tenure_days,
    base.age_band, base.region, base.acquisition_channel, base.device_type,
    coalesce(o.orders_30d, 0) as orders_30d,
    coalesce(o.orders_90d, 0) as orders_90d,
    coalesce(o.orders_365d, 0) as orders_365d,
    coalesce(o.orders_all, 0) as orders_all,
    coalesce(o.spend_365d, 0) as spend_365d,
    o.avg_order_value, o.discount_share, o.days_since_last_order, o.days_since_first_order,
    coalesce(s.sessions_7d, 0) as sessions_7d,
    coalesce(s.sessions_30d, 0) as sessions_30d,
    coalesce(s.sessions_90d, 0) as sessions_90d,
    coalesce(s.cart_adds_7d, 0) as cart_adds_7d,
    coalesce(s.cart_adds_30d, 0) as cart_adds_30d,
    coalesce(s.product_views_30d, 0) as product_views_30d,
    s.days_since_last_session,
    m.email_open_rate_90d, m.email_click_rate_90d, m.push_open_rate_90d,
    coalesce(m.clicks_30d, 0) as clicks_30d,
    coalesce(r.returns_365d, 0) as returns_365d,
    coalesce(r.refunds_365d, 0) as refunds_365d,
    coalesce(t.tickets_90d, 0) as tickets_90d,
    tier.loyalty_tier,
    coalesce(label.bought_in_window, 0) as bought_in_window
from base
left join o using (customer_id)
left join s using (customer_id)
left join m using (customer_id)
left join r using (customer_id)
left join t using (customer_id)
left join tier using (customer_id)
left join label using (customer_id)
order by base.customer_id
"""

CATEGORICAL = ["age_band", "region", "acquisition_channel", "device_type", "loyalty_tier"]


def features_at(con: duckdb.DuckDBPyConnection, raw: Path, cutoff: dt.datetime):
    df = con.execute(FEATURES_SQL.format(raw=raw.as_posix()), {"cutoff": cutoff}).df()
    for col in CATEGORICAL:
        df[col] = df[col].astype("category")
    return df


def best_f1(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    precision, recall, thresholds = precision_recall_curve(y, p)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    i = int(np.nanargmax(f1[:-1]))
    return float(f1[i]), float(thresholds[i])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path, help="raw folder written by the generator")
    parser.add_argument("--end-date", type=dt.date.fromisoformat, default=dt.date(2026, 10, 31))
    args = parser.parse_args()

    started = time.perf_counter()
    end = dt.datetime.combine(args.end_date + dt.timedelta(days=1), dt.time())
    test_cutoff = end - dt.timedelta(days=30)
    train_cutoff = test_cutoff - dt.timedelta(days=30)
    con = duckdb.connect()
    con.execute("set threads = 2")
    train = features_at(con, args.raw, train_cutoff)
    test = features_at(con, args.raw, test_cutoff)
    for cat in CATEGORICAL:  # same category codes in train and test
        cats = sorted(set(train[cat].cat.categories) | set(test[cat].cat.categories))
        train[cat] = train[cat].cat.set_categories(cats)
        test[cat] = test[cat].cat.set_categories(cats)
    feature_cols = [c for c in train.columns if c not in ("customer_id", "bought_in_window")]
    y_train = train["bought_in_window"].to_numpy()
    y_test = test["bought_in_window"].to_numpy()
    print(
        f"train cutoff {train_cutoff:%Y-%m-%d}: {len(train):,} customers, base rate "
        f"{y_train.mean():.4f}"
    )
    print(
        f"test  cutoff {test_cutoff:%Y-%m-%d}: {len(test):,} customers, base rate "
        f"{y_test.mean():.4f}"
    )

    model = lgb.LGBMClassifier(
        n_estimators=300,
        learning_rate=0.05,
        num_leaves=31,
        min_child_samples=50,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        num_threads=2,
        verbose=-1,
        random_state=0,
    )
    model.fit(train[feature_cols], y_train)
    p = model.predict_proba(test[feature_cols])[:, 1]
    f1, threshold = best_f1(y_test, p)
    print(f"ROC-AUC {roc_auc_score(y_test, p):.4f}")
    print(f"PR-AUC  {average_precision_score(y_test, p):.4f}")
    print(f"F1      {f1:.4f} (best threshold {threshold:.3f})")
    importance = sorted(
        zip(feature_cols, model.booster_.feature_importance("gain"), strict=True),
        key=lambda kv: -kv[1],
    )
    total = sum(v for _, v in importance)
    print("top features by gain: " + ", ".join(f"{k} {v / total:.0%}" for k, v in importance[:8]))
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
