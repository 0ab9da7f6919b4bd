"""Customers: the visible profile and the hidden behavioural traits.

The hidden traits drive every simulated event but are never written to the raw
files. They come from a correlated Gaussian latent vector (a copula), so that
for example customers who buy often also tend to open emails and lapse less,
shifted a little by the visible profile (acquisition channel, age band, ...),
so the profile carries some but not much signal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import (
    ACQUISITION_CHANNELS,
    AGE_BANDS,
    DEVICE_TYPES,
    NO_TIME,
    PRODUCT_CATEGORIES,
    REGIONS,
    US_PER_DAY,
    Window,
)

AGE_P = np.array([0.12, 0.26, 0.24, 0.18, 0.12, 0.08])
REGION_P = np.array([0.20, 0.22, 0.18, 0.20, 0.12, 0.08])
ACQ_P = np.array([0.32, 0.22, 0.18, 0.10, 0.08, 0.10])
DEVICE_P = np.array([0.58, 0.32, 0.10])
# Market share of each product category: the mean of the Dirichlet preferences.
CATEGORY_SHARE = np.array([0.12, 0.16, 0.22, 0.12, 0.09, 0.12, 0.08, 0.09])
CATEGORY_CONCENTRATION = 1.5  # lower = more loyal to few categories

assert len(AGE_P) == len(AGE_BANDS) and len(REGION_P) == len(REGIONS)
assert len(ACQ_P) == len(ACQUISITION_CHANNELS) and len(DEVICE_P) == len(DEVICE_TYPES)
assert len(CATEGORY_SHARE) == len(PRODUCT_CATEGORIES)

# Latent dimensions: rate, engagement, lapse, discount, unsubscribe, returns, basket.
_LATENT_CORR = np.array(
    [
        [1.00, 0.45, -0.35, 0.10, -0.15, 0.00, -0.15],
        [0.45, 1.00, -0.30, 0.10, -0.45, 0.00, 0.00],
        [-0.35, -0.30, 1.00, 0.00, 0.20, 0.10, 0.00],
        [0.10, 0.10, 0.00, 1.00, 0.00, 0.00, -0.10],
        [-0.15, -0.45, 0.20, 0.00, 1.00, 0.00, 0.00],
        [0.00, 0.00, 0.10, 0.00, 0.00, 1.00, 0.10],
        [-0.15, 0.00, 0.00, -0.10, 0.00, 0.10, 1.00],
    ]
)
_LATENT_CHOL = np.linalg.cholesky(_LATENT_CORR)

# Profile shifts of the latent dimensions (small: the profile is a weak signal).
_ACQ_RATE = np.array([0.10, -0.10, -0.15, 0.25, -0.10, 0.10])
_ACQ_ENG = np.array([0.00, -0.10, 0.10, 0.05, -0.15, 0.35])
_ACQ_LAPSE = np.array([-0.05, 0.15, 0.10, -0.15, 0.20, 0.00])
_AGE_RATE = np.array([-0.15, 0.00, 0.10, 0.10, 0.00, -0.10])
_AGE_ENG = np.array([0.05, 0.05, 0.00, 0.00, -0.10, -0.20])
_AGE_BASKET = np.array([-0.25, -0.05, 0.05, 0.15, 0.10, 0.00])
_REGION_BASKET = np.array([0.00, -0.05, 0.00, 0.05, 0.00, 0.20])
_DEVICE_APP_P = np.array([0.65, 0.20, 0.45])

# Share of customers with all demographics missing, and the extra chance that
# each single field is missing on its own (together ~6% with any missing).
MISSING_ALL_P = 0.044
MISSING_ONE_P = 0.004


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


@dataclass
class Customers:
    """One chunk of customers: visible profile (codes, -1 = missing) and hidden traits."""

    customer_id: np.ndarray  # int64
    signup_us: np.ndarray  # int64 microseconds
    age_band: np.ndarray  # int8 codes into AGE_BANDS, -1 when missing
    region: np.ndarray
    acquisition_channel: np.ndarray
    device_type: np.ndarray
    # --- hidden traits (never written) ---
    rate: np.ndarray  # orders per week while active
    lapse: np.ndarray  # weekly probability active -> lapsed
    react: np.ndarray  # weekly probability lapsed -> active
    engagement: np.ndarray  # 0..1, drives sessions and message opens
    discount: np.ndarray  # 0..1, discount sensitivity
    season_amp: np.ndarray  # amplitude of the Nov/Dec peak
    category_cum: np.ndarray  # (n, n_categories) cumulative category preferences
    return_prop: np.ndarray  # multiplier of return probabilities
    ticket_prop: np.ndarray  # multiplier of support-ticket probabilities
    basket: np.ndarray  # typical gross order value
    app_user: np.ndarray  # bool: has the app (push, app sessions)
    email_freq: np.ndarray  # share of email campaigns the customer is targeted by
    first_order_p: np.ndarray  # chance to order right at sign-up (in-window sign-ups)
    unsub_us: np.ndarray  # when the customer unsubscribes from email (NO_TIME = never)
    resub_us: np.ndarray  # when they subscribe again (NO_TIME = never)

    def __len__(self) -> int:
        return len(self.customer_id)


def _signup_times(rng: np.random.Generator, n: int, window: Window) -> np.ndarray:
    """Sign-ups over the span before the end date, with a growing shop (more recent = more)."""
    span = window.end_us - window.signup_start_us
    growth = 0.6  # density rises by e^0.6 ~ 1.8x over the span
    u = rng.random(n)
    frac = np.log1p(u * np.expm1(growth)) / growth
    return window.signup_start_us + (frac * span).astype(np.int64)


def draw_customers(rng: np.random.Generator, first_id: int, n: int, window: Window) -> Customers:
    """Draw ``n`` customers with ids ``first_id, first_id + 1, ...``."""
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    signup = _signup_times(rng, n, window)
    age = rng.choice(len(AGE_P), size=n, p=AGE_P).astype(np.int8)
    region = rng.choice(len(REGION_P), size=n, p=REGION_P).astype(np.int8)
    acq = rng.choice(len(ACQ_P), size=n, p=ACQ_P).astype(np.int8)
    device = rng.choice(len(DEVICE_P), size=n, p=DEVICE_P).astype(np.int8)

    z = rng.standard_normal((n, _LATENT_CORR.shape[0])) @ _LATENT_CHOL.T
    z_rate = z[:, 0] + _ACQ_RATE[acq] + _AGE_RATE[age]
    z_eng = z[:, 1] + _ACQ_ENG[acq] + _AGE_ENG[age]
    z_lapse = z[:, 2] + _ACQ_LAPSE[acq]
    z_basket = z[:, 6] + _AGE_BASKET[age] + _REGION_BASKET[region]

    rate = np.exp(np.log(0.10) + 0.90 * z_rate)
    lapse = _sigmoid(_logit(0.025) + 0.85 * z_lapse)
    react = 0.006 * np.exp(0.6 * rng.standard_normal(n))
    engagement = _sigmoid(-0.3 + 1.0 * z_eng)
    discount = _sigmoid(-0.6 + 1.3 * z[:, 3])
    unsub_rate_per_year = np.exp(np.log(0.075) + 1.0 * z[:, 4])
    return_prop = np.exp(-0.18 + 0.6 * z[:, 5])
    basket = np.exp(np.log(55.0) + 0.45 * z_basket)
    season_amp = rng.gamma(2.0, 0.5, n)
    ticket_prop = np.exp(-0.18 + 0.6 * rng.standard_normal(n))

    prefs = rng.gamma(CATEGORY_CONCENTRATION * CATEGORY_SHARE, size=(n, len(CATEGORY_SHARE)))
    prefs += 1e-12
    category_cum = np.cumsum(prefs / prefs.sum(axis=1, keepdims=True), axis=1)
    category_cum[:, -1] = 1.0

    app_p = _DEVICE_APP_P[device] * np.where(age >= 4, 0.6, 1.0)
    app_user = rng.random(n) < app_p
    email_freq = rng.choice(np.array([0.15, 0.25, 0.35]), size=n)
    first_order_p = _sigmoid(_logit(0.45) + 0.5 * z[:, 0])

    # Email subscription: time to unsubscribe ~ exponential from sign-up, a few resubscribe.
    years = rng.exponential(1.0, n) / unsub_rate_per_year
    unsub = signup + np.minimum(years * 365.25 * US_PER_DAY, NO_TIME / 4).astype(np.int64)
    unsub = np.where(unsub < window.end_us, unsub, NO_TIME)
    resub_gap = ((1.0 + rng.exponential(150.0, n)) * US_PER_DAY).astype(np.int64)
    resub = np.where((unsub < NO_TIME) & (rng.random(n) < 0.15), unsub + resub_gap, NO_TIME)
    resub = np.where(resub < window.end_us, resub, NO_TIME)

    # Missing demographics: mostly all four together, sometimes one field alone.
    profile = [age, region, acq, device]
    all_missing = rng.random(n) < MISSING_ALL_P
    for codes in profile:
        missing = all_missing | (rng.random(n) < MISSING_ONE_P)
        codes[missing] = -1

    return Customers(
        customer_id=ids,
        signup_us=signup,
        age_band=age,
        region=region,
        acquisition_channel=acq,
        device_type=device,
        rate=rate,
        lapse=lapse,
        react=react,
        engagement=engagement,
        discount=discount,
        season_amp=season_amp,
        category_cum=category_cum,
        return_prop=return_prop,
        ticket_prop=ticket_prop,
        basket=basket,
        app_user=app_user,
        email_freq=email_freq,
        first_order_p=first_order_p,
        unsub_us=unsub,
        resub_us=resub,
    )


def is_subscribed(customers: Customers, idx: np.ndarray, t_us: np.ndarray) -> np.ndarray:
    """Email subscription status of customer ``idx`` (chunk positions) at time ``t_us``."""
    return (t_us < customers.unsub_us[idx]) | (t_us >= customers.resub_us[idx])
