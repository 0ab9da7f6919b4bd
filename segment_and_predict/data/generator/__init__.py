"""Synthetic raw data for segment-and-predict: a behavioural simulation of a shop.

Each customer has hidden traits (purchase rate, lapse hazard, engagement,
discount sensitivity, category preferences, seasonality, unsubscribe and return
propensities) that drive sessions, messages, orders, returns and tickets week
by week. See ``docs/data_generator.md``.
"""

import importlib
from typing import TYPE_CHECKING

from .config import GeneratorConfig, Window

if TYPE_CHECKING:
    from .engine import GenerationResult, generate


def __getattr__(name: str):
    # the engine (numpy, pyarrow) loads on first use: the CLI reads the config's
    # defaults to build its parser on every command
    if name not in ("GenerationResult", "generate"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(".engine", __name__), name)
    globals()[name] = value
    return value


__all__ = ["GenerationResult", "GeneratorConfig", "Window", "generate"]
