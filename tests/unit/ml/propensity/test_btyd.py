"""The BG/NBD fit behind the btyd features and the BG/NBD baseline (propensity/btyd.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

from segment_and_predict.ml.propensity import btyd

TRUE = btyd.BgNbdParams(r=0.25, alpha=30.0, a=0.8, b=2.4)


def simulate(n: int, params: btyd.BgNbdParams, seed: int, horizon: int = 365):
    """(x, t_x, T) of n customers drawn from the BG/NBD story, ages up to horizon days."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(params.r, 1 / params.alpha, n)
    dropout = rng.beta(params.a, params.b, n)
    T = rng.integers(1, horizon + 1, n).astype(float)
    x, t_x, now = np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, bool)
    while alive.any():
        later = now + rng.exponential(1 / np.maximum(rate, 1e-12))
        buys = alive & (later <= T)
        x[buys] += 1
        t_x[buys] = later[buys]
        now = np.where(buys, later, now)
        alive = buys & (rng.random(n) >= dropout)
    return x, np.floor(t_x), T


def test_the_fit_recovers_the_parameters_it_was_simulated_with():
    x, t_x, T = simulate(200_000, TRUE, seed=3)
    fitted = btyd.fit(x, t_x, T)
    for name, value in TRUE.as_dict().items():
        assert fitted.as_dict()[name] == pytest.approx(value, rel=0.1), name


def test_the_gradient_is_the_derivative_of_the_log_likelihood():
    x, t_x, T = simulate(300, TRUE, seed=4)
    at = np.log([0.4, 12.0, 1.3, 2.0])
    analytic = btyd._gradient(at, x, t_x, T).sum(axis=0)
    step = 1e-6
    numeric = [
        (
            btyd._log_likelihood(at + e, x, t_x, T).sum()
            - btyd._log_likelihood(at - e, x, t_x, T).sum()
        )
        / (2 * step)
        for e in np.eye(4) * step
    ]
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5)


def test_the_fit_evaluates_the_same_log_likelihood_and_gradient_in_one_pass():
    # the fit's loss computes both from one evaluation of their terms: it must be
    # exactly the log-likelihood and gradient above, not a variant of them
    x, t_x, T = simulate(500, TRUE, seed=5)
    at = np.log([0.4, 12.0, 1.3, 2.0])
    value, gradient = btyd._log_likelihood_and_gradient(at, x, t_x, T)
    np.testing.assert_array_equal(value, btyd._log_likelihood(at, x, t_x, T))
    np.testing.assert_array_equal(gradient, btyd._gradient(at, x, t_x, T))


def test_terms_evaluated_per_distinct_value_equal_the_per_row_formula():
    # the special functions are evaluated once per distinct x, t_x and T and gathered
    # (btyd._Levels): the same numbers, bit for bit, as evaluating them on every row
    x, t_x, T = simulate(5_000, TRUE, seed=6)
    at = np.log([0.4, 12.0, 1.3, 2.0])
    r, alpha, a, b = np.exp(at)
    alive = special.betaln(a, b + x) - special.betaln(a, b) - (r + x) * np.log(alpha + T)
    dropped = np.full_like(x, -np.inf)
    repeat = x > 0
    dropped[repeat] = (
        special.betaln(a + 1, b + x[repeat] - 1)
        - special.betaln(a, b)
        - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    )
    per_row = (
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * np.log(alpha)
        + np.logaddexp(alive, dropped)
    )
    np.testing.assert_array_equal(btyd._log_likelihood(at, x, t_x, T), per_row)
    assert len(np.unique(x)) < x.size / 50  # the levels are few


def test_the_fit_does_not_depend_on_the_order_of_the_rows():
    x, t_x, T = simulate(20_000, TRUE, seed=5)
    order = np.random.default_rng(0).permutation(x.size)
    assert btyd.fit(x, t_x, T) == btyd.fit(x[order], t_x[order], T[order])


def test_predictions_behave_as_the_model_says():
    params = btyd.BgNbdParams(r=0.25, alpha=30.0, a=0.8, b=2.4)
    # no repeat purchase: alive for sure; a long silence after a busy spell: likely gone
    x = np.array([0.0, 5.0, 5.0, 5.0])
    t_x = np.array([0.0, 300.0, 100.0, 300.0])
    T = np.array([100.0, 301.0, 301.0, 301.0])
    alive = btyd.probability_alive(params, x, t_x, T)
    assert alive[0] == 1.0
    assert alive[1] > alive[2]
    buy = btyd.probability_of_purchase(params, x, t_x, T, 30)
    assert np.all((buy > 0) & (buy <= alive))
    expected = btyd.expected_purchases(params, x, t_x, T, 30)
    assert expected[1] > expected[2] > 0
    # a longer window: more expected and more likely purchases
    assert np.all(btyd.expected_purchases(params, x, t_x, T, 60) > expected)
    assert np.all(btyd.probability_of_purchase(params, x, t_x, T, 60) > buy)


def test_probability_of_purchase_matches_simulation():
    """P(at least one purchase in the next 30 days) for one history, against Monte Carlo."""
    params = btyd.BgNbdParams(r=0.5, alpha=20.0, a=1.0, b=3.0)
    x, t_x, T, window = 3.0, 100.0, 200.0, 30.0
    rng = np.random.default_rng(1)
    n = 400_000
    rate = rng.gamma(params.r, 1 / params.alpha, n)
    dropout = rng.beta(params.a, params.b, n)
    # condition on the history by importance weights: its likelihood given (rate, dropout)
    weight = rate**x * np.exp(-rate * T) * (1 - dropout) ** x + (
        rate**x * np.exp(-rate * t_x) * dropout * (1 - dropout) ** (x - 1)
    )
    alive_weight = rate**x * np.exp(-rate * T) * (1 - dropout) ** x
    # alive at T: a purchase in the window unless the exponential wait exceeds it
    buys = alive_weight * (1 - np.exp(-rate * window))
    simulated = buys.sum() / weight.sum()
    modelled = btyd.probability_of_purchase(params, [x], [t_x], [T], window)[0]
    assert modelled == pytest.approx(simulated, rel=0.02)


def test_predictions_per_snapshot_fit_each_date_on_its_own_rows():
    x1, t1, T1 = simulate(5_000, TRUE, seed=6)
    x2, t2, T2 = simulate(5_000, btyd.BgNbdParams(r=1.0, alpha=10.0, a=0.5, b=5.0), seed=7)

    def rows(date, x, t_x, T):
        return pd.DataFrame(
            {
                "customer_id": [f"c{i}" for i in range(x.size)],
                "as_of_date": pd.Timestamp(date),
                "purchase_days_lifetime": x + 1,
                "days_first_to_last_purchase": t_x,
                "days_since_first_order": T,
            }
        )

    one = rows("2026-01-01", x1, t1, T1)
    both = pd.concat([one, rows("2026-02-01", x2, t2, T2)])
    alone = btyd.predictions_per_snapshot(one, 30)
    together = btyd.predictions_per_snapshot(both, 30)
    assert list(together.columns) == ["customer_id", "as_of_date", *btyd.PREDICTION_COLUMNS]
    first = together[together["as_of_date"] == pd.Timestamp("2026-01-01")].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, alone)
    assert together[list(btyd.PREDICTION_COLUMNS)].notna().all().all()


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="t_x <= T"):
        btyd.fit([1.0], [5.0], [3.0])
    with pytest.raises(ValueError, match="no customers"):
        btyd.fit([], [], [])
