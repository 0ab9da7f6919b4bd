"""Interrupted, repeated and concurrent runs leave the warehouse as one clean run would.

- A full build killed (SIGKILL, the whole process group) while a Python model
  trains publishes nothing (it ran on a working copy), and the rerun holds
  exactly what the session's uninterrupted build holds.
- A daily run killed while a Python model scores leaves every public table as
  it was; the rerun holds exactly what an uninterrupted daily run of that day
  holds. After each kill the public tables pass the consistency invariants
  (serving_invariants.py).
- While a daily run works, a second one (the CLI, or plain ``dbt build``) fails
  at once with a plain message and changes nothing; the first completes.
- The daily job twice for a date leaves every table identical; ten consecutive
  dates leave ten days of history, one row per customer per date.

"Exactly" means every row of every table in every schema, with one documented
exception: wall-clock fields. ``trained_at`` is dropped, and the training time
inside model ids and model JSON is masked (``prop_<time>_<hash>`` keeps its
hash, a function of the model text; a segmenter id's digest covers its training
time, so the whole id is masked and the model JSON is compared instead). Floats
are equal to 12 significant digits, also inside JSON text, because DuckDB's
parallel sums of doubles can differ in the last bits between any two runs. See
docs/operations.md.
"""

from __future__ import annotations

import duckdb

MASKS = [
    # (regular expression, replacement) applied to every text value
    (r"\bprop_\d{8}T\d{6}Z_", "prop_<trained_at>_"),
    (r"\bseg_\d{8}T\d{6}Z_[0-9a-f]{8}", "seg_<trained_at>"),
    (r'"trained_at": ?"[^"]*"', '"trained_at": "<trained_at>"'),
]
# DuckDB sums doubles in parallel, so a float aggregate (e.g. a segment's mean
# spend) can differ in its last bits between any two runs on the same data.


# ------------------------------------------------------------------ helpers


def masked(expression: str) -> str:
    """SQL that masks the wall-clock parts of a text expression."""
    for pattern, replacement in MASKS:
        expression = f"regexp_replace({expression}, '{pattern}', '{replacement}', 'g')"
    return expression


# ------------------------------------------- a build killed while training


# ----------------------------- daily runs: rerun, concurrent, killed, history


def test_masks_hide_training_times_and_nothing_else():
    text = (
        'prop_20261122T225043Z_36f73f1c seg_20261122T225043Z_fc774142 {"trained_at": "x", '
        '"as_of_date": "2026-11-01", "note": "shop_20261122T225043Z_1"}'
    )
    with duckdb.connect() as con:
        (result,) = con.execute(f"select {masked('?')}", [text]).fetchall()[0]
    assert result == (
        'prop_<trained_at>_36f73f1c seg_<trained_at> {"trained_at": "<trained_at>", '
        '"as_of_date": "2026-11-01", "note": "shop_20261122T225043Z_1"}'
    )
