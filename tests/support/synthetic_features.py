"""A small synthetic customer_features frame for the model tests (propensity, refit,
label window, hostile values): a few thousand customers, a known signal."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from segment_and_predict.ml.propensity import LABEL

# One thread: the result is the same for any thread count (deterministic=True), and
# OpenMP threads on a busy CI machine make small fits many times slower.
THREADS = 1


START = date(2024, 1, 1)
REGIONS = ["north", "south", "east", "west", "central"]
CHANNELS = ["organic", "paid_search", "social", "referral"]
DEVICES = ["mobile", "desktop", "tablet"]
TIERS = ["bronze", "silver", "gold", "platinum"]
AGE_BANDS = ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"]


def make_features(
    n_customers: int = 3000, n_snapshots: int = 5, n_unlabelled: int = 1, seed: int = 0
) -> pd.DataFrame:
    """Synthetic customer_features: n_snapshots dates 30 days apart, the last
    ``n_unlabelled`` of them without a label (the scoring snapshot).

    The label depends on recency, frequency, email engagement, loyalty tier and
    region, plus noise; a few features are pure noise, one is all-null and one
    is constant, as for a retailer lacking a source table.
    """
    rng = np.random.default_rng(seed)
    ids = np.array([f"c{i:05d}" for i in range(n_customers)], dtype=object)

    def pick(values, p_null):
        out = rng.choice(np.array(values, dtype=object), n_customers)
        out[rng.random(n_customers) < p_null] = None
        return out

    region = pick(REGIONS, 0.05)
    channel = pick(CHANNELS, 0.1)
    device = pick(DEVICES, 0.0)
    age = pick(AGE_BANDS, 0.2)
    tier = pick(TIERS, 0.4)
    activity = rng.gamma(1.5, 1.0, n_customers)
    subscribed = rng.random(n_customers) < 0.6
    tenure0 = rng.integers(30, 2000, n_customers)
    tier_effect = {None: -0.3, "bronze": 0.0, "silver": 0.2, "gold": 0.5, "platinum": 0.8}
    region_effect = {"north": 0.3, "south": -0.2, "east": 0.0, "west": 0.1, "central": -0.1}

    frames = []
    for k in range(n_snapshots):
        orders_90d = rng.poisson(activity * 0.8)
        orders_365d = orders_90d + rng.poisson(activity * 2.0)
        has_order = orders_365d > 0
        days_since = np.where(
            orders_90d > 0, rng.integers(1, 90, n_customers), rng.integers(90, 365, n_customers)
        ).astype(float)
        days_since[~has_order] = np.nan
        aov = np.where(has_order, rng.lognormal(3.5, 0.5, n_customers), np.nan)
        open_rate = np.where(subscribed, rng.beta(2, 5, n_customers), np.nan)
        sessions = rng.poisson(activity * 3)
        noise_1 = rng.normal(size=n_customers)
        logit = (
            -2.0
            + 0.9 * np.log1p(orders_90d)
            + 0.4 * np.log1p(orders_365d)
            - 0.8 * np.nan_to_num(days_since / 100.0, nan=4.0)
            + 1.5 * np.nan_to_num(open_rate, nan=0.0)
            + 0.2 * np.log1p(sessions)
            + np.array([tier_effect[t] for t in tier])
            + np.array([region_effect.get(r, 0.0) for r in region])
            # Thresholds and interactions that trees pick up and a linear model does not.
            + 1.2 * (np.nan_to_num(days_since, nan=999.0) < 21)
            + 0.8 * (subscribed & (sessions > 3))
            - 2.0 * ((tier == "platinum") & (region == "south"))
            + 0.8 * (np.abs(tenure0 + 30 * k - 1000) < 300)
            + rng.normal(0.0, 0.5, n_customers)
        )
        label = rng.random(n_customers) < 1 / (1 + np.exp(-logit))
        labelled = k < n_snapshots - n_unlabelled
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": ids,
                    "as_of_date": START + timedelta(days=30 * k),
                    "age_band": pd.array(age, dtype="str"),
                    "region": pd.array(region, dtype="str"),
                    "acquisition_channel": pd.array(channel, dtype="str"),
                    "device_type": pd.array(device, dtype="str"),
                    "loyalty_tier": pd.array(tier, dtype="str"),
                    "tenure_days": tenure0 + 30 * k,
                    "is_email_subscribed": subscribed,
                    "orders_90d": orders_90d,
                    "orders_365d": orders_365d,
                    "days_since_last_order": days_since,
                    "avg_order_value_365d": aov,
                    "email_open_rate_90d": open_rate,
                    "sessions_30d": sessions,
                    "noise_1": noise_1,
                    "push_click_rate_90d": np.full(n_customers, np.nan),
                    "returns_90d": np.zeros(n_customers, dtype="int64"),
                    LABEL: pd.array(label if labelled else [None] * n_customers, dtype="boolean"),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
