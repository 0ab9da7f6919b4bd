"""Synthetic raw data for segment-and-predict: a behavioural simulation of a shop.

Each customer has hidden traits (purchase rate, lapse hazard, engagement,
discount sensitivity, category preferences, seasonality, unsubscribe and return
propensities) that drive sessions, messages, orders, returns and tickets week
by week. See ``docs/data_generator.md``.
"""

from .config import GeneratorConfig, Window
from .engine import GenerationResult, generate

__all__ = ["GenerationResult", "GeneratorConfig", "Window", "generate"]
