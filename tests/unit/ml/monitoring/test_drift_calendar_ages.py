"""Calendar ages in drift monitoring: compared after removing the calendar shift, warn only.

Tenure grows by one a day whatever the customers do. In a shop whose export
starts on its first day (or a closed cohort, like CDNOW) the raw tenures move
away from the training rows by the days since training, and compared as they
are they fail the daily job on a normal day (PSI far above 0.25). Aligned to
the reference date, a closed cohort shows no drift at all, and a shop that
keeps signing customers up shows only its new customers. The drift rows say
which features are calendar ages (their fail test is exempt, see
test_drift_walk_forward.py), and real shifts still fail.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from segment_and_predict.ml import drift
from segment_and_predict.ml.propensity import FeatureEncoder

DAY = pd.Timedelta(days=1)
OPENED = pd.Timestamp("2025-01-01")  # the shop's first day, and the export's
TRAIN_DATES = [OPENED + d * DAY for d in (300, 330, 360, 390)]
SIGNUPS_PER_DAY = 20


def _base(as_of: pd.Timestamp, seed: int, *, signups_until_day: int | None = None) -> pd.DataFrame:
    """Every customer who signed up before ``as_of`` at a steady rate, with two features.

    ``signups_until_day``: nobody signs up after that many days (a closed cohort).
    """
    rng = np.random.default_rng(seed)
    days_open = (as_of - OPENED).days
    last = min(days_open, signups_until_day or days_open)
    n = last * SIGNUPS_PER_DAY
    signed_up = OPENED + pd.to_timedelta(np.sort(rng.uniform(0, last, n)), unit="D")
    return pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "as_of_date": as_of,
            "tenure_days": (as_of.normalize() - signed_up.normalize()).days.astype("int64"),
            "spend_30d": rng.gamma(2.0, 40.0, n),
        }
    )


def _reference(**kwargs) -> dict:
    train = pd.concat(
        [_base(d, seed=i, **kwargs) for i, d in enumerate(TRAIN_DATES)], ignore_index=True
    )
    encoder = FeatureEncoder().fit(train)
    dates = [d.date().isoformat() for d in TRAIN_DATES]
    found = drift.model_reference(
        train, encoder, np.linspace(0, 1, 500), train_as_of_dates=dates, test_as_of_date="x"
    )
    return json.loads(json.dumps(found))  # as stored in the registry


@pytest.fixture(scope="module")
def growing() -> dict:
    return _reference()


@pytest.fixture(scope="module")
def closed() -> dict:
    return _reference(signups_until_day=90)


def _by_feature(rows: list[dict], column: str = "psi") -> dict[str, object]:
    return {row["feature"]: row[column] for row in rows}


def test_tenure_is_the_declared_calendar_age_and_its_reference_is_aligned(growing):
    assert drift.CALENDAR_AGE_FEATURES == ("tenure_days", "days_since_first_order")
    tenure = growing["features"]["tenure_days"]
    assert tenure["aligned_to_date"] == TRAIN_DATES[-1].date().isoformat()
    # the newest training date's rows alone: 390 days of sign-ups
    assert sum(tenure["counts"]) == 390 * SIGNUPS_PER_DAY
    assert "aligned_to_date" not in growing["features"]["spend_30d"]


@pytest.mark.parametrize("days_after_training", [1, 30, 90, 180])
def test_a_closed_cohort_shows_no_drift_however_long_after_training(closed, days_after_training):
    today = TRAIN_DATES[-1] + days_after_training * DAY
    current = _base(today, seed=99, signups_until_day=90)
    rows = drift.feature_drift(closed, current, today.date())
    psi = _by_feature(rows)
    assert psi["tenure_days"] < 0.1 and psi["spend_30d"] < 0.1, psi
    assert _by_feature(rows, "calendar_shift_days") == {
        "tenure_days": days_after_training,
        "spend_30d": None,
    }
    assert _by_feature(rows, "is_calendar_age") == {"tenure_days": True, "spend_30d": False}
    # the raw tenures are what cried wolf: compared as they are, the same day fails
    raw = drift.compare("tenure_days", closed["features"]["tenure_days"], current["tenure_days"])
    if days_after_training >= 30:
        assert raw["psi"] > 0.25


def test_a_growing_shop_shows_only_its_new_customers(growing):
    today = TRAIN_DATES[-1] + 30 * DAY
    current = _base(today, seed=98)
    row = _by_feature(drift.feature_drift(growing, current, today.date()), "bins_json")
    bins = json.loads(row["tenure_days"])
    # the 30 days of sign-ups since the reference date land below its lowest age
    new_share = 30 / 420
    lowest = bins[0]
    assert lowest["current_share"] - lowest["reference_share"] == pytest.approx(new_share, abs=0.02)
    for later in bins[1:-1]:
        assert later["current_share"] == pytest.approx(
            later["reference_share"] * (1 - new_share), abs=0.02
        )


def test_real_shifts_still_fail(growing):
    today = TRAIN_DATES[-1] + 30 * DAY
    spend_x3 = _base(today, seed=5).assign(spend_30d=lambda f: f["spend_30d"] * 3)
    assert _by_feature(drift.feature_drift(growing, spend_x3, today.date()))["spend_30d"] > 0.25
    # an export that lost its older customers: the cohort mix moved, whatever the calendar
    recent_only = _base(today, seed=6).query("tenure_days < 200")
    assert (
        _by_feature(drift.feature_drift(growing, recent_only, today.date()))["tenure_days"] > 0.25
    )


def test_references_recorded_before_alignment_are_compared_as_they_are(growing):
    old = json.loads(json.dumps(growing))
    del old["features"]["tenure_days"]["aligned_to_date"]
    today = TRAIN_DATES[-1] + 30 * DAY
    rows = drift.feature_drift(old, _base(today, seed=7), today.date())
    assert set(_by_feature(rows, "calendar_shift_days").values()) == {None}
    with pytest.raises(ValueError, match="as_of_date"):
        drift.feature_drift(growing, _base(today, seed=7))
