"""Events derived from the behavioural core: order contents, returns, sessions,
support tickets, loyalty tiers and email subscription changes.

Every function works on whole arrays of events for one chunk of customers
(customer positions inside the chunk, times in microseconds) and returns plain
numpy arrays; :mod:`.tables` turns them into the raw tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import (
    LOYALTY_THRESHOLDS_CENTS,
    NO_TIME,
    US_PER_DAY,
    US_PER_HOUR,
    US_PER_SECOND,
    US_PER_WEEK,
    Window,
)
from .simulate import Core, expand_counts, time_of_day
from .traits import Customers

# Relative price level of a unit in each category (PRODUCT_CATEGORIES order).
PRICE_LEVEL = np.array([3.0, 1.4, 1.0, 0.7, 1.2, 0.4, 0.8, 0.5])
GROCERY = 5
# Chance that a line of each category is returned (before the customer's multiplier).
RETURN_BASE = np.array([0.05, 0.04, 0.17, 0.03, 0.05, 0.01, 0.04, 0.02])
# Return reason probabilities per category (RETURN_REASONS order).
_RETURN_REASON_P = np.array(
    [
        [0.40, 0.00, 0.35, 0.25],
        [0.45, 0.00, 0.30, 0.25],
        [0.08, 0.55, 0.20, 0.17],
        [0.30, 0.00, 0.35, 0.35],
        [0.20, 0.30, 0.25, 0.25],
        [0.60, 0.00, 0.25, 0.15],
        [0.40, 0.00, 0.30, 0.30],
        [0.45, 0.00, 0.20, 0.35],
    ]
)
DISCOUNT_PCTS = np.array([0.10, 0.15, 0.20, 0.25, 0.30])
# Ticket reason probabilities (TICKET_REASONS order) by what triggered the ticket.
_TICKET_REASON_P = np.array(
    [
        [0.55, 0.10, 0.20, 0.05, 0.10],  # after an order
        [0.15, 0.50, 0.15, 0.00, 0.20],  # after a return
        [0.05, 0.05, 0.25, 0.45, 0.20],  # out of the blue
    ]
)
TICKET_AFTER_ORDER_P = 0.035
TICKET_AFTER_RETURN_P = 0.30
TICKET_BACKGROUND_PER_WEEK = 0.002
LAPSED_SESSION_FACTOR = 0.3  # browsing of a lapsed customer relative to active


def _categorical_rows(rng: np.random.Generator, cum: np.ndarray) -> np.ndarray:
    """One draw per row of a (n, k) cumulative probability matrix."""
    u = rng.random(cum.shape[0])[:, None]
    return np.minimum((u > cum).sum(axis=1), cum.shape[1] - 1).astype(np.int8)


def _nullable_codes(rng: np.random.Generator, codes: np.ndarray, p_null: float) -> np.ndarray:
    return np.where(rng.random(codes.size) < p_null, -1, codes).astype(np.int8)


@dataclass
class Orders:
    cust: np.ndarray
    time: np.ndarray
    total_cents: np.ndarray
    discount_cents: np.ndarray
    # lines (order = position in the orders arrays above)
    line_order: np.ndarray
    line_number: np.ndarray
    line_category: np.ndarray
    line_quantity: np.ndarray
    line_cents: np.ndarray


def build_orders(rng: np.random.Generator, cust: Customers, core: Core, window: Window) -> Orders:
    o_cust, o_time, from_click = core.ord_cust, core.ord_time, core.ord_from_click
    n = o_cust.size
    week = np.clip((o_time - window.start_us) // US_PER_WEEK, 0, window.n_weeks - 1)
    peak = core.peak[week]

    n_lines = 1 + np.minimum(rng.poisson(0.8, n), 7)
    line_order = np.repeat(np.arange(n, dtype=np.int64), n_lines)
    starts = np.cumsum(n_lines) - n_lines
    line_number = (np.arange(line_order.size) - starts[line_order] + 1).astype(np.int32)
    line_cust = o_cust[line_order]
    category = _categorical_rows(rng, cust.category_cum[line_cust])
    quantity = 1 + rng.poisson(np.where(category == GROCERY, 1.2, 0.2))
    weight = PRICE_LEVEL[category] * quantity * np.exp(rng.normal(0.0, 0.5, line_order.size))
    weight_sum = np.bincount(line_order, weights=weight, minlength=n)

    gross = cust.basket[o_cust] * np.exp(rng.normal(0.0, 0.45, n)) * (1.0 + 0.15 * peak)
    line_gross = np.maximum(
        np.rint(100.0 * gross[line_order] * weight / weight_sum[line_order]), 100
    )

    p_disc = np.where(
        from_click,
        0.45 + 0.45 * cust.discount[o_cust],
        0.04 + 0.35 * cust.discount[o_cust] + 0.25 * peak,
    )
    pct = np.where(
        rng.random(n) < p_disc, DISCOUNT_PCTS[rng.integers(0, len(DISCOUNT_PCTS), n)], 0.0
    )
    line_net = np.rint(line_gross * (1.0 - pct[line_order]))
    total = np.bincount(line_order, weights=line_net, minlength=n).astype(np.int64)
    discount = np.bincount(line_order, weights=line_gross - line_net, minlength=n).astype(np.int64)
    return Orders(
        cust=o_cust,
        time=o_time,
        total_cents=total,
        discount_cents=discount,
        line_order=line_order,
        line_number=line_number,
        line_category=category,
        line_quantity=quantity.astype(np.int32),
        line_cents=line_net.astype(np.int64),
    )


@dataclass
class Returns:
    order: np.ndarray  # position in Orders
    cust: np.ndarray
    time: np.ndarray
    refund_cents: np.ndarray
    reason: np.ndarray  # int8 codes, -1 = not given


def build_returns(
    rng: np.random.Generator, cust: Customers, orders: Orders, window: Window
) -> Returns:
    lo = orders.line_order
    p = np.minimum(RETURN_BASE[orders.line_category] * cust.return_prop[orders.cust[lo]], 0.9)
    returned = rng.random(lo.size) < p
    n_orders = orders.cust.size
    refund = np.bincount(lo[returned], weights=orders.line_cents[returned], minlength=n_orders)
    order = np.flatnonzero(np.bincount(lo[returned], minlength=n_orders) > 0)
    refund = refund[order]
    partial = rng.random(order.size) < 0.10  # goodwill partial refunds
    refund = np.where(partial, np.floor(refund * 0.5), refund).astype(np.int64)
    # Reason from the category of the first returned line of the order.
    first_line = np.full(n_orders, -1, dtype=np.int64)
    ret_lines = np.flatnonzero(returned)
    first_line[lo[ret_lines[::-1]]] = ret_lines[::-1]
    reason_cat = orders.line_category[first_line[order]]
    reason = _categorical_rows(rng, np.cumsum(_RETURN_REASON_P[reason_cat], axis=1))
    reason = _nullable_codes(rng, reason, 0.08)
    delay_days = 2.0 + rng.gamma(2.0, 4.0, order.size)
    time = orders.time[order] + (delay_days * US_PER_DAY).astype(np.int64)
    keep = time < window.end_us
    return Returns(
        order=order[keep],
        cust=orders.cust[order[keep]],
        time=time[keep],
        refund_cents=refund[keep],
        reason=reason[keep],
    )


@dataclass
class Tickets:
    cust: np.ndarray
    opened: np.ndarray
    resolved: np.ndarray  # NO_TIME = still open
    reason: np.ndarray  # int8, -1 = not recorded
    csat: np.ndarray  # int32, -1 = not given


def build_tickets(
    rng: np.random.Generator,
    cust: Customers,
    orders: Orders,
    returns: Returns,
    window: Window,
) -> Tickets:
    tp = cust.ticket_prop
    pick = rng.random(orders.cust.size) < np.minimum(TICKET_AFTER_ORDER_P * tp[orders.cust], 0.5)
    a_cust = orders.cust[pick]
    a_time = orders.time[pick] + ((0.3 + rng.exponential(4.0, a_cust.size)) * US_PER_DAY).astype(
        np.int64
    )
    pick = rng.random(returns.cust.size) < np.minimum(
        TICKET_AFTER_RETURN_P * np.sqrt(tp[returns.cust]), 0.9
    )
    b_cust = returns.cust[pick]
    b_time = returns.time[pick] + (rng.exponential(1.0, b_cust.size) * US_PER_DAY).astype(np.int64)
    lam = np.broadcast_to(TICKET_BACKGROUND_PER_WEEK * tp, (window.n_weeks, len(cust)))
    c_cust, c_week = expand_counts(rng.poisson(lam))
    c_time = (
        window.start_us
        + c_week * US_PER_WEEK
        + rng.integers(0, 7, c_cust.size) * US_PER_DAY
        + time_of_day(rng, c_cust.size)
    )
    t_cust = np.concatenate([a_cust, b_cust, c_cust])
    opened = np.concatenate([a_time, b_time, c_time]) + US_PER_SECOND
    source = np.concatenate(
        [np.zeros(a_cust.size, np.int8), np.ones(b_cust.size, np.int8), np.full(c_cust.size, 2)]
    )
    keep = (opened < window.end_us) & (opened > cust.signup_us[t_cust])
    t_cust, opened, source = t_cust[keep], opened[keep], source[keep]
    n = t_cust.size

    reason = _categorical_rows(rng, np.cumsum(_TICKET_REASON_P[source], axis=1))
    hours = np.exp(rng.normal(np.log(16.0), 1.0, n)) * np.where(reason == 0, 1.3, 1.0)
    resolved = opened + (hours * US_PER_HOUR).astype(np.int64) + 60 * US_PER_SECOND
    is_resolved = (rng.random(n) >= 0.03) & (resolved < window.end_us)
    resolved = np.where(is_resolved, resolved, NO_TIME)
    score = np.rint(4.7 - 0.55 * np.log1p(hours / 12.0) + rng.normal(0.0, 0.9, n))
    csat = np.where(is_resolved & (rng.random(n) < 0.35), np.clip(score, 1, 5), -1)
    return Tickets(
        cust=t_cust,
        opened=opened,
        resolved=resolved,
        reason=_nullable_codes(rng, reason, 0.04),
        csat=csat.astype(np.int32),
    )


@dataclass
class Sessions:
    cust: np.ndarray
    start: np.ndarray
    channel: np.ndarray  # int8: 0 app, 1 web
    duration: np.ndarray  # float seconds, NaN = not measured
    pages: np.ndarray
    product_views: np.ndarray
    cart_adds: np.ndarray


# Per session kind: background browsing, pre-order browsing, purchase, landing from a click.
_PAGES_BASE = np.array([1.0, 2.0, 3.0, 1.0])
_PAGES_EXTRA = np.array([2.0, 5.0, 4.0, 2.5])
_CART_P = np.array([0.03, 0.18, 0.15, 0.08])


def build_sessions(
    rng: np.random.Generator, cust: Customers, core: Core, orders: Orders, window: Window
) -> Sessions:
    # Background browsing: engagement x hidden state x season.
    base = 0.25 + 1.1 * cust.engagement
    season = 1.0 + 0.4 * np.outer(core.peak, cust.season_amp)
    lam = base * season * np.where(core.active, 1.0, LAPSED_SESSION_FACTOR)
    a_cust, a_week = expand_counts(rng.poisson(lam))
    a_time = (
        window.start_us
        + a_week * US_PER_WEEK
        + rng.integers(0, 7, a_cust.size) * US_PER_DAY
        + time_of_day(rng, a_cust.size)
    )
    # Browsing in the days before each order (the leading signal).
    k = rng.poisson(1.0, orders.cust.size)
    b_order = np.repeat(np.arange(orders.cust.size), k)
    b_cust = orders.cust[b_order]
    lead = (0.3 * US_PER_HOUR + rng.exponential(2.0, b_order.size) * US_PER_DAY).astype(np.int64)
    b_time = orders.time[b_order] - lead
    # The purchase session itself, minutes before the order.
    c_cust = orders.cust
    c_time = orders.time - rng.integers(3 * 60, 40 * 60, c_cust.size) * US_PER_SECOND
    # Landing sessions from clicked messages.
    clicked = np.flatnonzero(core.msg_clicked < NO_TIME)
    d_cust = core.msg_cust[clicked]
    d_time = core.msg_clicked[clicked] + rng.integers(1, 30, d_cust.size) * US_PER_SECOND
    d_from_push = core.msg_channel[clicked] == 1

    s_cust = np.concatenate([a_cust, b_cust, c_cust, d_cust])
    start = np.concatenate([a_time, b_time, c_time, d_time])
    kind = np.concatenate(
        [
            np.zeros(a_cust.size, np.int8),
            np.ones(b_cust.size, np.int8),
            np.full(c_cust.size, 2, np.int8),
            np.full(d_cust.size, 3, np.int8),
        ]
    )
    forced_app = np.concatenate([np.zeros(s_cust.size - d_cust.size, bool), d_from_push])
    keep = (start >= window.start_us) & (start < window.end_us) & (start > cust.signup_us[s_cust])
    s_cust, start, kind, forced_app = s_cust[keep], start[keep], kind[keep], forced_app[keep]
    n = s_cust.size

    app = forced_app | (cust.app_user[s_cust] & (rng.random(n) < 0.75))
    eng = cust.engagement[s_cust]
    pages = 1 + np.floor(_PAGES_BASE[kind] - 1 + rng.poisson(_PAGES_EXTRA[kind] * (0.6 + eng)))
    pages = pages.astype(np.int64)
    views = rng.binomial(pages - 1, 0.55)
    carts = rng.binomial(views, _CART_P[kind]) + (kind == 2)
    duration = pages * np.exp(rng.normal(np.log(35.0), 0.6, n))
    duration = np.where(rng.random(n) < 0.03, np.nan, np.round(duration, 1))
    return Sessions(
        cust=s_cust,
        start=start,
        channel=np.where(app, 0, 1).astype(np.int8),
        duration=duration,
        pages=pages.astype(np.int32),
        product_views=views.astype(np.int32),
        cart_adds=carts.astype(np.int32),
    )


@dataclass
class TierChanges:
    cust: np.ndarray
    time: np.ndarray
    tier: np.ndarray  # int8 codes into LOYALTY_TIERS


def build_tier_changes(cust: Customers, orders: Orders, window: Window) -> TierChanges:
    """Tier from rolling 365-day spend: bronze at sign-up, then a row at every crossing."""
    year = 365 * US_PER_DAY
    expire = orders.time + year
    late = expire < window.end_us
    e_cust = np.concatenate([orders.cust, orders.cust[late]])
    e_time = np.concatenate([orders.time, expire[late]])
    e_amount = np.concatenate([orders.total_cents, -orders.total_cents[late]])
    order = np.lexsort((e_time, e_cust))
    e_cust, e_time, e_amount = e_cust[order], e_time[order], e_amount[order]
    running = np.cumsum(e_amount)
    first = np.ones(e_cust.size, dtype=bool)
    first[1:] = e_cust[1:] != e_cust[:-1]
    group_start = np.maximum.accumulate(np.where(first, np.arange(e_cust.size), 0))
    before_group = np.where(group_start > 0, running[group_start - 1], 0)
    spend = running - before_group
    # Several events at the same instant: keep the state after the last one.
    last = np.ones(e_cust.size, dtype=bool)
    last[:-1] = (e_cust[:-1] != e_cust[1:]) | (e_time[:-1] != e_time[1:])
    e_cust, e_time, spend = e_cust[last], e_time[last], spend[last]
    tier = np.searchsorted(np.array(LOYALTY_THRESHOLDS_CENTS), spend, side="right").astype(np.int8)
    prev = np.zeros_like(tier)
    prev[1:] = np.where(e_cust[1:] == e_cust[:-1], tier[:-1], 0)
    changed = tier != prev
    n = len(cust)
    return TierChanges(
        cust=np.concatenate([np.arange(n, dtype=np.int64), e_cust[changed]]),
        time=np.concatenate([cust.signup_us, e_time[changed]]),
        tier=np.concatenate([np.zeros(n, np.int8), tier[changed]]),
    )


@dataclass
class SubscriptionChanges:
    cust: np.ndarray
    time: np.ndarray
    subscribed: np.ndarray  # bool


def build_subscription_changes(cust: Customers) -> SubscriptionChanges:
    unsub = np.flatnonzero(cust.unsub_us < NO_TIME)
    resub = np.flatnonzero(cust.resub_us < NO_TIME)
    return SubscriptionChanges(
        cust=np.concatenate([unsub, resub]).astype(np.int64),
        time=np.concatenate([cust.unsub_us[unsub], cust.resub_us[resub]]),
        subscribed=np.concatenate([np.zeros(unsub.size, bool), np.ones(resub.size, bool)]),
    )
