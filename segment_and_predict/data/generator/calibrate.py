"""Calibrate the purchase-intensity multiplier to a target buyer rate.

The buyer rate is the share of customers signed up before the default cutoff
(end - 30 days) who place at least one order in [cutoff, end). It is a
monotone function of the multiplier that scales every customer's purchase
intensity (and click conversion). A pilot sample of customers is simulated
(core only: states, messages, orders) with common random numbers for a few
multipliers, and a secant search on logit(rate) against log(multiplier) finds
the multiplier that hits the target. Everything is seeded, so the result is
deterministic for a given seed and parameters.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .config import GeneratorConfig, Window
from .simulate import simulate_core
from .traits import draw_customers

PILOT_CUSTOMERS = 30_000
PILOT_STREAM = 1  # SeedSequence spawn key of the pilot (main chunks use 0)
TOLERANCE = 0.002
MAX_STEPS = 6


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def buyer_rate(seed: int, window: Window, multiplier: float, n: int = PILOT_CUSTOMERS) -> float:
    """Simulated buyer rate at the default cutoff for a pilot sample."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(PILOT_STREAM,)))
    cust = draw_customers(rng, 1, n, window)
    core = simulate_core(rng, cust, window, multiplier)
    eligible = cust.signup_us < window.cutoff_us
    in_label = core.ord_time >= window.cutoff_us
    bought = np.zeros(len(cust), dtype=bool)
    bought[core.ord_cust[in_label]] = True
    return float(bought[eligible].mean())


@lru_cache(maxsize=16)
def _calibrate(seed: int, window: Window, target: float) -> tuple[float, float]:
    m0, r0 = 1.0, buyer_rate(seed, window, 1.0)
    if abs(r0 - target) <= TOLERANCE:
        return m0, r0
    m1 = math.exp((_logit(target) - _logit(r0)) / 1.2)  # rough slope guess
    r1 = buyer_rate(seed, window, m1)
    for _ in range(MAX_STEPS):
        if abs(r1 - target) <= TOLERANCE:
            break
        slope = (_logit(r1) - _logit(r0)) / (math.log(m1) - math.log(m0))
        if not math.isfinite(slope) or slope <= 0.05:
            slope = 1.2
        m_next = math.exp(math.log(m1) + (_logit(target) - _logit(r1)) / slope)
        m_next = min(max(m_next, m1 / 4), m1 * 4)
        m0, r0 = m1, r1
        m1, r1 = m_next, buyer_rate(seed, window, m_next)
    return m1, r1


def calibrate(config: GeneratorConfig) -> tuple[float, float]:
    """(multiplier, pilot buyer rate) for ``config.buyer_rate``."""
    return _calibrate(config.seed, config.window, round(config.buyer_rate, 6))
