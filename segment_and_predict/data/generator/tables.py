"""Assemble one chunk of customers into the raw tables of the contract.

Columns are numpy arrays; the writer turns them into Arrow using the contract's
types. Conventions: categorical columns are :class:`Codes` into a vocabulary
(-1 = null); timestamps are int64 microseconds (``NO_TIME`` = null); doubles use
NaN for null; nullable integers use -1 for null. Rows are sorted by customer
then time and identifiers are handed out in that order, continuing across
chunks via ``counters``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import config as c
from .details import (
    build_orders,
    build_returns,
    build_sessions,
    build_subscription_changes,
    build_tickets,
    build_tier_changes,
)
from .simulate import simulate_core
from .traits import Customers


@dataclass(frozen=True)
class Codes:
    codes: np.ndarray  # int codes, -1 = null
    vocabulary: tuple[str, ...]


Columns = dict[str, object]


def _take_ids(counters: dict[str, int], table: str, n: int) -> np.ndarray:
    first = counters.get(table, 1)
    counters[table] = first + n
    return np.arange(first, first + n, dtype=np.int64)


def _by_customer_time(cust_idx: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Permutation sorting rows by (customer, time)."""
    if cust_idx.size == 0:
        return np.zeros(0, dtype=np.int64)
    t0 = int(time.min())
    time_bits = int(time.max() - t0).bit_length()
    if int(cust_idx.max()).bit_length() + time_bits <= 62:
        # One int64 key sorts much faster than lexsort; rows arrive nearly
        # sorted by customer, which the stable sort exploits.
        key = (cust_idx.astype(np.int64) << time_bits) | (time - t0)
        return np.argsort(key, kind="stable")
    return np.lexsort((time, cust_idx))


def _cents(x: np.ndarray) -> np.ndarray:
    return np.round(x / 100.0, 2)


def simulate_chunk(
    rng: np.random.Generator,
    cust: Customers,
    window: c.Window,
    multiplier: float,
    counters: dict[str, int],
) -> dict[str, Columns]:
    """Simulate one chunk of customers and return its rows of every raw table."""
    core = simulate_core(rng, cust, window, multiplier)
    orders = build_orders(rng, cust, core, window)
    returns = build_returns(rng, cust, orders, window)
    tickets = build_tickets(rng, cust, orders, returns, window)
    sessions = build_sessions(rng, cust, core, orders, window)
    tiers = build_tier_changes(cust, orders, window)
    subs = build_subscription_changes(cust)
    cid = cust.customer_id
    out: dict[str, Columns] = {}

    out["customers"] = {
        "customer_id": cid,
        "signed_up_at": cust.signup_us,
        "age_band": Codes(cust.age_band, c.AGE_BANDS),
        "region": Codes(cust.region, c.REGIONS),
        "acquisition_channel": Codes(cust.acquisition_channel, c.ACQUISITION_CHANNELS),
        "device_type": Codes(cust.device_type, c.DEVICE_TYPES),
    }

    perm = _by_customer_time(orders.cust, orders.time)
    order_ids = np.empty(perm.size, dtype=np.int64)
    order_ids[perm] = _take_ids(counters, "orders", perm.size)
    out["orders"] = {
        "order_id": order_ids[perm],
        "customer_id": cid[orders.cust[perm]],
        "ordered_at": orders.time[perm],
        "order_total": _cents(orders.total_cents[perm]),
        "discount_amount": _cents(orders.discount_cents[perm]),
    }

    line_ids = order_ids[orders.line_order]
    lperm = np.lexsort((orders.line_number, line_ids))
    out["order_lines"] = {
        "order_id": line_ids[lperm],
        "line_number": orders.line_number[lperm],
        "product_category": Codes(orders.line_category[lperm], c.PRODUCT_CATEGORIES),
        "quantity": orders.line_quantity[lperm],
        "line_total": _cents(orders.line_cents[lperm]),
    }

    perm = _by_customer_time(returns.cust, returns.time)
    out["returns"] = {
        "return_id": _take_ids(counters, "returns", perm.size),
        "order_id": order_ids[returns.order[perm]],
        "customer_id": cid[returns.cust[perm]],
        "returned_at": returns.time[perm],
        "refund_amount": _cents(returns.refund_cents[perm]),
        "reason": Codes(returns.reason[perm], c.RETURN_REASONS),
    }

    perm = _by_customer_time(sessions.cust, sessions.start)
    out["sessions"] = {
        "session_id": _take_ids(counters, "sessions", perm.size),
        "customer_id": cid[sessions.cust[perm]],
        "started_at": sessions.start[perm],
        "channel": Codes(sessions.channel[perm], c.SESSION_CHANNELS),
        "duration_seconds": sessions.duration[perm],
        "pages_viewed": sessions.pages[perm],
        "product_views": sessions.product_views[perm],
        "cart_adds": sessions.cart_adds[perm],
    }

    perm = _by_customer_time(core.msg_cust, core.msg_sent)
    out["marketing_messages"] = {
        "message_id": _take_ids(counters, "marketing_messages", perm.size),
        "customer_id": cid[core.msg_cust[perm]],
        "channel": Codes(core.msg_channel[perm], c.MESSAGE_CHANNELS),
        "sent_at": core.msg_sent[perm],
        "opened_at": core.msg_opened[perm],
        "clicked_at": core.msg_clicked[perm],
    }

    perm = _by_customer_time(tickets.cust, tickets.opened)
    out["support_tickets"] = {
        "ticket_id": _take_ids(counters, "support_tickets", perm.size),
        "customer_id": cid[tickets.cust[perm]],
        "opened_at": tickets.opened[perm],
        "resolved_at": tickets.resolved[perm],
        "reason": Codes(tickets.reason[perm], c.TICKET_REASONS),
        "csat_score": tickets.csat[perm],
    }

    perm = _by_customer_time(tiers.cust, tiers.time)
    out["loyalty_tier_changes"] = {
        "customer_id": cid[tiers.cust[perm]],
        "changed_at": tiers.time[perm],
        "loyalty_tier": Codes(tiers.tier[perm], c.LOYALTY_TIERS),
    }

    perm = _by_customer_time(subs.cust, subs.time)
    out["email_subscription_changes"] = {
        "customer_id": cid[subs.cust[perm]],
        "changed_at": subs.time[perm],
        "is_subscribed": subs.subscribed[perm],
    }
    return out
