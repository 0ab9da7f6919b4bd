"""The name of the label column, from the label window.

The label says whether a customer ordered in the ``label_window_days`` days from
a snapshot date, and its column says the window in its name:
``purchased_next_30d`` with the default window, ``purchased_next_7d`` with 7.
:func:`label_column` is the one Python owner of that name; the dbt macro
``label_column()`` (macros/label_column.sql) is its SQL twin, and the
customer_labels contract checks that both give the column the table has.
"""

from __future__ import annotations

import re

# The table of the labels (models/features/customer_labels.sql) in the warehouse:
# only training and evaluation join it.
LABELS_TABLE = "features.customer_labels"
DEFAULT_LABEL_WINDOW_DAYS = 30
MAX_LABEL_WINDOW_DAYS = 366
_LABEL_NAME = re.compile(r"^purchased_next_([0-9]+)d$")


def label_window_days(value: object) -> int:
    """The var ``label_window_days`` as a whole number of days, or a plain ValueError."""
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_LABEL_WINDOW_DAYS:
        raise ValueError(
            f"The var label_window_days must be a whole number from 1 to "
            f"{MAX_LABEL_WINDOW_DAYS}; got {value!r}"
        )
    return int(text)


def label_column(window_days: object = DEFAULT_LABEL_WINDOW_DAYS) -> str:
    """``purchased_next_<N>d`` for a label window of N days (``window_days``: int or var text)."""
    return f"purchased_next_{label_window_days(window_days)}d"


def is_label_column(name: object) -> bool:
    """True for any label column name (any window): never a model input."""
    return isinstance(name, str) and _LABEL_NAME.match(name) is not None


def window_of(label: str) -> int:
    """The label window in days that a label column name says (``purchased_next_7d`` -> 7)."""
    found = _LABEL_NAME.match(label)
    if found is None:
        raise ValueError(f"{label!r} is not a label column name like 'purchased_next_7d'")
    return int(found.group(1))
