"""The behavioural core: activity state, marketing messages and orders over time.

Time runs on a weekly grid from the window start. Each customer is in a hidden
``active`` or ``lapsed`` state (a two-state Markov chain with individual
hazards); the weekly purchase intensity is

    multiplier x rate x (1 + season_amp x peak(week)) x (1 if active else LAPSED_FACTOR)

and orders are Poisson counts of that intensity, placed at random times inside
their week. Marketing emails go to subscribed customers, push notifications to
app users; opens and clicks depend on engagement and on the hidden state, and a
click can lead to a (usually discounted) order within hours. The calibration
pilot runs only this core; everything else (lines, returns, sessions, tickets,
tiers) is derived from it in :mod:`.details`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import NO_TIME, US_PER_DAY, US_PER_HOUR, US_PER_SECOND, US_PER_WEEK, Window
from .traits import Customers, is_subscribed

LAPSED_FACTOR = 0.03  # purchase intensity of a lapsed customer relative to active
LAPSED_OPEN_FACTOR = 0.35  # message open probability of a lapsed customer relative
CLICK_CONVERSION = 0.07  # chance that a click leads to an order (scaled by traits)
EMAIL_DAYS = np.array([1, 3, 5])  # campaign days inside each week
PUSH_PER_WEEK = 0.35
PEAK_DAY = 332  # ~ 28 November
PEAK_WIDTH_DAYS = 20.0

# Hour-of-day profile of shopping activity (orders, sessions).
_HOUR_WEIGHTS = np.array(
    [2, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 7, 7, 6, 6, 6, 7, 8, 9, 10, 10, 8, 5], dtype=float
)
_HOUR_CUM = np.cumsum(_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())


def time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random time of day in microseconds following the shopping hour profile."""
    hours = np.minimum(np.searchsorted(_HOUR_CUM, rng.random(n)), 23)
    return hours * US_PER_HOUR + rng.integers(0, US_PER_HOUR, n)


def seasonal_peak(window: Window) -> np.ndarray:
    """Shape (weeks,) of the Nov/Dec peak, 1 at the peak, ~0 outside Oct-Dec."""
    doy = window.week_midpoints_day_of_year()
    dd = ((doy - PEAK_DAY + 182) % 365) - 182
    peak = np.exp(-0.5 * (dd / PEAK_WIDTH_DAYS) ** 2)
    return np.where(dd > 27, 0.15 * peak, peak)  # sharp drop after Christmas


def expand_counts(counts_wc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(weeks, customers) event counts -> (customer index, week index) per event,
    ordered by customer then week."""
    n_weeks = counts_wc.shape[0]
    flat = counts_wc.ravel(order="F")  # customer-major
    cell = np.repeat(np.arange(flat.size, dtype=np.int64), flat)
    return (cell // n_weeks).astype(np.int64), (cell % n_weeks).astype(np.int64)


@dataclass
class Core:
    """Per-chunk outcome of the behavioural core. Indices are chunk positions."""

    active: np.ndarray  # (weeks, customers) bool: the hidden state
    peak: np.ndarray  # (weeks,)
    # messages
    msg_cust: np.ndarray
    msg_week: np.ndarray
    msg_channel: np.ndarray  # int8 codes: 0 email, 1 push
    msg_sent: np.ndarray
    msg_opened: np.ndarray  # NO_TIME when not opened (or not yet)
    msg_clicked: np.ndarray  # NO_TIME when not clicked
    # orders
    ord_cust: np.ndarray
    ord_time: np.ndarray
    ord_from_click: np.ndarray  # bool


def simulate_states(rng: np.random.Generator, cust: Customers, window: Window) -> np.ndarray:
    """Hidden active/lapsed state per week: returns (weeks, customers) bool."""
    n, n_weeks = len(cust), window.n_weeks
    signup_week = np.floor((cust.signup_us - window.start_us) / US_PER_WEEK).astype(np.int64)
    # Customers who signed up before the window: probability to still be active
    # at the window start, from the chain's transient solution since sign-up.
    weeks_before = np.maximum(-(cust.signup_us - window.start_us) / US_PER_WEEK, 0.0)
    total = cust.lapse + cust.react
    stationary = cust.react / total
    p_active0 = stationary + (1.0 - stationary) * np.exp(-total * weeks_before)
    state = rng.random(n) < p_active0
    out = np.empty((n_weeks, n), dtype=bool)
    lapse = cust.lapse.astype(np.float32)
    react = cust.react.astype(np.float32)
    for w in range(n_weeks):
        if w > 0:
            u = rng.random(n, dtype=np.float32)
            moved = np.where(state, u >= lapse, u < react)
            state = np.where(signup_week >= w, True, moved)
        out[w] = state
    return out


def _open_click(
    rng: np.random.Generator,
    sent: np.ndarray,
    p_open: np.ndarray,
    p_click: np.ndarray,
    window: Window,
) -> tuple[np.ndarray, np.ndarray]:
    n = sent.size
    opened = rng.random(n) < p_open
    clicked = opened & (rng.random(n) < p_click)
    delay = np.exp(rng.normal(np.log(2.0), 1.3, n)) * US_PER_HOUR
    open_t = sent + np.minimum(delay, 7 * US_PER_DAY).astype(np.int64) + US_PER_SECOND
    click_t = open_t + (rng.exponential(90.0, n) * US_PER_SECOND).astype(np.int64) + US_PER_SECOND
    open_t = np.where(opened & (open_t < window.end_us), open_t, NO_TIME)
    click_t = np.where(clicked & (click_t < window.end_us), click_t, NO_TIME)
    click_t = np.where(open_t < NO_TIME, click_t, NO_TIME)
    return open_t, click_t


def simulate_messages(
    rng: np.random.Generator, cust: Customers, window: Window, active_wc: np.ndarray
) -> tuple[np.ndarray, ...]:
    n, n_weeks = len(cust), window.n_weeks
    # Emails: up to one per campaign day, to the customer's share of campaigns.
    counts = rng.binomial(len(EMAIL_DAYS), np.broadcast_to(cust.email_freq, (n_weeks, n)))
    e_cust, e_week = expand_counts(counts.astype(np.int64))
    day = EMAIL_DAYS[rng.integers(0, len(EMAIL_DAYS), e_cust.size)]
    e_sent = (
        window.start_us
        + e_week * US_PER_WEEK
        + day * US_PER_DAY
        + 8 * US_PER_HOUR
        + rng.integers(0, 3 * US_PER_HOUR, e_cust.size)
    )
    keep = (e_sent > cust.signup_us[e_cust]) & (e_sent < window.end_us)
    keep &= is_subscribed(cust, e_cust, e_sent)
    e_cust, e_week, e_sent = e_cust[keep], e_week[keep], e_sent[keep]

    # Push: app users only, any day, daytime.
    lam = np.where(cust.app_user, PUSH_PER_WEEK, 0.0)
    counts = rng.poisson(np.broadcast_to(lam, (n_weeks, n)))
    p_cust, p_week = expand_counts(counts)
    p_sent = (
        window.start_us
        + p_week * US_PER_WEEK
        + rng.integers(0, 7, p_cust.size) * US_PER_DAY
        + 10 * US_PER_HOUR
        + rng.integers(0, 10 * US_PER_HOUR, p_cust.size)
    )
    keep = (p_sent > cust.signup_us[p_cust]) & (p_sent < window.end_us)
    p_cust, p_week, p_sent = p_cust[keep], p_week[keep], p_sent[keep]

    m_cust = np.concatenate([e_cust, p_cust])
    m_week = np.concatenate([e_week, p_week])
    m_sent = np.concatenate([e_sent, p_sent])
    m_channel = np.concatenate(
        [np.zeros(e_cust.size, dtype=np.int8), np.ones(p_cust.size, dtype=np.int8)]
    )
    eng = cust.engagement[m_cust]
    state_factor = np.where(active_wc[m_week, m_cust], 1.0, LAPSED_OPEN_FACTOR)
    p_open = np.where(m_channel == 0, 0.55, 0.30) * eng * state_factor
    p_click = np.where(m_channel == 0, 0.14, 0.20) * (0.4 + eng)
    opened, clicked = _open_click(rng, m_sent, p_open, p_click, window)
    return m_cust, m_week, m_channel, m_sent, opened, clicked


def simulate_core(
    rng: np.random.Generator, cust: Customers, window: Window, multiplier: float
) -> Core:
    active_wc = simulate_states(rng, cust, window)
    peak = seasonal_peak(window)
    m_cust, m_week, m_channel, m_sent, opened, clicked = simulate_messages(
        rng, cust, window, active_wc
    )

    # Organic orders: Poisson counts on the weekly grid.
    season = 1.0 + np.outer(peak, cust.season_amp)
    intensity = (multiplier * cust.rate) * season * np.where(active_wc, 1.0, LAPSED_FACTOR)
    o_cust, o_week = expand_counts(rng.poisson(intensity))
    o_time = (
        window.start_us
        + o_week * US_PER_WEEK
        + rng.integers(0, 7, o_cust.size) * US_PER_DAY
        + time_of_day(rng, o_cust.size)
    )

    # First order right at sign-up for part of the customers who join in the window.
    joins = np.flatnonzero(
        (cust.signup_us >= window.start_us) & (rng.random(len(cust)) < cust.first_order_p)
    )
    f_time = cust.signup_us[joins] + rng.integers(2, 40, joins.size) * 60 * US_PER_SECOND

    # Click-driven orders within hours of a click.
    has_click = clicked < NO_TIME
    c_idx = np.flatnonzero(has_click)
    c_cust = m_cust[c_idx]
    state_factor = np.where(active_wc[m_week[c_idx], c_cust], 1.0, 0.3)
    p_conv = np.minimum(
        CLICK_CONVERSION * multiplier * (0.3 + 1.4 * cust.discount[c_cust]) * state_factor, 0.9
    )
    conv = rng.random(c_idx.size) < p_conv
    c_cust = c_cust[conv]
    c_time = (
        clicked[c_idx[conv]]
        + (rng.exponential(3.0, c_cust.size) * US_PER_HOUR).astype(np.int64)
        + 120 * US_PER_SECOND
    )

    ord_cust = np.concatenate([o_cust, joins.astype(np.int64), c_cust])
    ord_time = np.concatenate([o_time, f_time, c_time])
    from_click = np.concatenate(
        [np.zeros(o_cust.size + joins.size, dtype=bool), np.ones(c_cust.size, dtype=bool)]
    )
    keep = (
        (ord_time > cust.signup_us[ord_cust])
        & (ord_time >= window.start_us)
        & (ord_time < window.end_us)
    )
    return Core(
        active=active_wc,
        peak=peak,
        msg_cust=m_cust,
        msg_week=m_week,
        msg_channel=m_channel,
        msg_sent=m_sent,
        msg_opened=opened,
        msg_clicked=clicked,
        ord_cust=ord_cust[keep],
        ord_time=ord_time[keep],
        ord_from_click=from_click[keep],
    )
