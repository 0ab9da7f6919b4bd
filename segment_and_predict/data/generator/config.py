"""Parameters of a generator run and the time window they imply.

All timestamps inside the generator are ``int64`` microseconds since the Unix
epoch (naive, no time zone), which is what Parquet ``timestamp[us]`` stores.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

US_PER_SECOND = 1_000_000
US_PER_HOUR = 3_600 * US_PER_SECOND
US_PER_DAY = 24 * US_PER_HOUR
US_PER_WEEK = 7 * US_PER_DAY
NO_TIME = 2**62  # "never" (e.g. never unsubscribed); far beyond any real timestamp

DEFAULT_CUSTOMERS = 240_000
DEFAULT_END_DATE = dt.date(2026, 10, 31)
DEFAULT_MONTHS = 18
DEFAULT_SEED = 42
DEFAULT_BUYER_RATE = 0.28
DEFAULT_CHUNK_SIZE = 60_000
MIN_MONTHS = 15
MAX_MONTHS = 36
SIGNUP_SPAN_DAYS = 3 * 365 + 1  # customers sign up over ~3 years before the end date
LABEL_DAYS = 30

# Value vocabularies of the raw tables (categorical columns are generated as
# integer codes into these tuples).
PRODUCT_CATEGORIES = (
    "electronics",
    "home",
    "fashion",
    "beauty",
    "sports",
    "grocery",
    "toys",
    "books",
)
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
REGIONS = ("north", "south", "east", "west", "central", "international")
ACQUISITION_CHANNELS = ("organic", "paid_search", "social", "referral", "affiliate", "email")
DEVICE_TYPES = ("mobile", "desktop", "tablet")
SESSION_CHANNELS = ("app", "web")
MESSAGE_CHANNELS = ("email", "push")
TICKET_REASONS = ("delivery", "product_quality", "payment", "account", "other")
RETURN_REASONS = ("damaged", "wrong_size", "not_as_described", "changed_mind")
LOYALTY_TIERS = ("bronze", "silver", "gold", "platinum")
# Rolling 365-day spend (in cents) at which each tier above bronze starts.
LOYALTY_THRESHOLDS_CENTS = (250_00, 750_00, 2_000_00)


def _to_us(value: dt.datetime) -> int:
    return (value - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)


def _minus_months(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + (day.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    # Clamp the day to the length of the target month.
    next_month = dt.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last_day))


@dataclass(frozen=True)
class Window:
    """The simulated period and the reference dates derived from it."""

    start_us: int  # first instant with activity (inclusive)
    end_us: int  # end_date + 1 day, 00:00 (exclusive)
    signup_start_us: int  # earliest sign-up
    cutoff_us: int  # default scoring cutoff: end - 30 days
    n_weeks: int  # weeks of the simulation grid, starting at start_us

    @classmethod
    def build(cls, end_date: dt.date, months: int) -> Window:
        end = dt.datetime.combine(end_date + dt.timedelta(days=1), dt.time())
        start = dt.datetime.combine(_minus_months(end.date(), months), dt.time())
        start_us, end_us = _to_us(start), _to_us(end)
        signup_start_us = min(end_us - SIGNUP_SPAN_DAYS * US_PER_DAY, start_us)
        n_weeks = -(-(end_us - start_us) // US_PER_WEEK)
        return cls(
            start_us=start_us,
            end_us=end_us,
            signup_start_us=signup_start_us,
            cutoff_us=end_us - LABEL_DAYS * US_PER_DAY,
            n_weeks=int(n_weeks),
        )

    def week_midpoints_day_of_year(self):
        """Day of year (1-366) at the middle of each simulation week."""
        import numpy as np

        mid_us = self.start_us + (np.arange(self.n_weeks) * 7 + 3.5) * US_PER_DAY
        dates = mid_us.astype("datetime64[us]")
        years = dates.astype("datetime64[Y]")
        return (dates - years).astype("timedelta64[D]").astype(np.int64) + 1


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything that determines the generated data (plus presentation knobs)."""

    customers: int = DEFAULT_CUSTOMERS
    end_date: dt.date = DEFAULT_END_DATE
    months: int = DEFAULT_MONTHS
    seed: int = DEFAULT_SEED
    buyer_rate: float = DEFAULT_BUYER_RATE
    chunk_size: int = DEFAULT_CHUNK_SIZE
    window: Window = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError("customers must be at least 1")
        if not MIN_MONTHS <= self.months <= MAX_MONTHS:
            raise ValueError(f"months must be between {MIN_MONTHS} and {MAX_MONTHS}")
        if not 0.02 <= self.buyer_rate <= 0.7:
            raise ValueError("buyer_rate must be between 0.02 and 0.7")
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        if self.seed < 0:
            raise ValueError("seed must be a non-negative integer")
        object.__setattr__(self, "window", Window.build(self.end_date, self.months))
