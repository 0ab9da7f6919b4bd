"""What the daily scoring models read: the serving model and the scoring snapshot.

Shared by the dbt Python models ``propensity_scores``, ``customer_segments`` and
``unseen_category_values`` so all of them pick their model (the one the SQL
model ``serving_models`` names) and their rows by the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from .labels import is_label_column


def serving_model(serving_models, registry, *, kind: str, id_column: str = "model_id"):
    """Return (model_id, model_json) of the model that serves ``kind``, or None.

    The rule itself lives in one place, the SQL model ``serving_models`` (the
    newest registry row that passed its quality gate, rewritten only by a run
    that finished training); this only looks up the model it names.
    ``serving_models`` and ``registry`` are DuckDB relations; ``id_column``
    is the registry's id column (``segment_model_id`` for segment_models).
    None means no model of this kind has passed its gate yet: the caller
    publishes nothing of that kind, and the build's gate lines say why.
    """
    named = (
        serving_models.filter(f"model_kind = {_literal(kind)}")
        .select("serving_model_id")
        .fetchall()
    )
    if not named or named[0][0] is None:
        return None
    model_id = str(named[0][0])
    found = registry.filter(f"{id_column} = {_literal(model_id)}").select("model_json").fetchall()
    if not found:
        raise ValueError(
            f"serving_models names the {kind} model {model_id}, but its registry has no row "
            f"with that id. Run the full build (`segment-and-predict build`) to rewrite "
            f"serving_models from the registries."
        )
    return model_id, str(found[0][0])


def _literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def keys_and_columns(features, columns: Iterable[str]):
    """``features`` (a customer_features relation) with only the keys (customer_id,
    as_of_date) and those of ``columns`` it has, in its own order. A column it lacks is
    left for the model that needs it to name."""
    wanted = {"customer_id", "as_of_date", *columns}
    return features.select(", ".join(f'"{name}"' for name in features.columns if name in wanted))


def scoring_snapshot(features, snapshot_dates) -> pd.DataFrame:
    """The customer_features rows of the scoring date, read once into pandas."""
    return relation_frame(scoring_relation(features, snapshot_dates))


def scoring_blocks(features, snapshot_dates, rows: int) -> Iterator[pd.DataFrame]:
    """The rows of :func:`scoring_snapshot`, as frames of at most ``rows`` rows each."""
    return relation_blocks(scoring_relation(features, snapshot_dates), rows)


def scoring_relation(features, snapshot_dates):
    """The customer_features rows of the scoring date, as a DuckDB relation.

    Filtered by the date as a constant, so DuckDB skips the row groups of the other
    dates: customer_features keeps earlier days (feature_history_days), and a join on
    the dates read them all (the daily job grew by about 50 ms a day at 240K customers).
    """
    scoring_dates = snapshot_dates.filter("is_scoring_snapshot").select("as_of_date")
    dates = scoring_dates.fetchall()
    if len(dates) != 1:
        # no scoring date (or, against int_snapshot_dates' tests, several): the rows
        # of every date marked, as a join gives them
        return features.join(scoring_dates, "as_of_date")
    return features.filter(f"as_of_date = date '{dates[0][0].isoformat()}'")


# The pandas types a relation's columns get in relation_frame: text Arrow-backed
# with NaN for null (as DuckDB's own .df() gives it), integers and booleans always
# pandas' nullable types (.df() gives those only to columns holding a null), so
# every reader sees the same values and nulls either way (tests/unit/ml/test_serving.py).
_PANDAS_TYPES = {
    pa.string(): pd.StringDtype("pyarrow", na_value=np.nan),
    pa.large_string(): pd.StringDtype("pyarrow", na_value=np.nan),
    pa.bool_(): pd.BooleanDtype(),
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
}


def relation_frame(relation) -> pd.DataFrame:
    """A DuckDB relation's rows as a pandas DataFrame, read through Arrow.

    DuckDB's ``.df()`` builds each text column one Python str at a time (at 240K
    customers 0.45 s for the scoring snapshot, most of it its six text columns);
    through Arrow the same frame takes about a quarter of that. Dates arrive as
    datetime64, decimals as float64, integers and booleans as pandas' nullable types.
    """
    result = relation.arrow()
    table = result.read_all() if isinstance(result, pa.RecordBatchReader) else result
    return _arrow_frame(table)


def relation_blocks(relation, rows: int) -> Iterator[pd.DataFrame]:
    """A DuckDB relation's rows as frames of at most ``rows`` rows, as they are read.

    The types of :func:`relation_frame`; only one block is in memory at a time. A
    relation without rows gives one empty frame, so a reader still sees its columns.
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    reader = relation.to_arrow_reader(rows)
    empty = True
    # DuckDB hands its own chunks (2,048 rows and up); gather them into blocks of
    # ``rows`` so every block but the last is full
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    for batch in reader:
        pending.append(batch)
        pending_rows += batch.num_rows
        while pending_rows >= rows:
            table = pa.Table.from_batches(pending, schema=reader.schema)
            yield _arrow_frame(table.slice(0, rows))
            empty = False
            rest = table.slice(rows)
            pending, pending_rows = rest.to_batches(), rest.num_rows
    if pending_rows or empty:
        yield _arrow_frame(pa.Table.from_batches(pending, schema=reader.schema))


def _arrow_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as pandas with the types of :func:`relation_frame`."""
    # decimals and dates as .df() gives them: float64 (not Decimal objects), datetime64[us]
    for index, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type):
            target = pa.float64()
        elif pa.types.is_date(field.type):
            target = pa.timestamp("us")
        else:
            continue
        table = table.set_column(index, field.name, table.column(index).cast(target))
    return table.to_pandas(types_mapper=_PANDAS_TYPES.get)


def training_rows(features, labels, snapshot_dates, *, label: str, max_rows: int) -> pd.DataFrame:
    """The labelled rows of the training snapshots, in key order, at most about ``max_rows``.

    The features (``customer_features``) with the one label column ``label`` of
    ``customer_labels`` joined on (customer_id, as_of_date), as the last column:
    the label lives in its own model, so no label column reaches the features
    unless asked for by name. Beyond ``max_rows`` a fixed share of customers is
    kept (chosen by a hash of customer_id, so the same customers every time,
    each with all their snapshots): a model trained on a few million rows is as
    good as one on tens of millions, and training memory and time stay bounded at
    2.4M customers. Only the sampled rows are read into memory.
    """
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}")
    dates = snapshot_dates.filter("is_training_snapshot and is_label_observed")
    rows = with_label(features.join(dates.select("as_of_date"), "as_of_date"), labels, label)
    n_rows = rows.aggregate("count(*)").fetchall()[0][0]
    if n_rows > max_rows:
        per_million = max(1, int(1_000_000 * max_rows / n_rows))
        rows = rows.filter(f"hash(customer_id) % 1000000 < {per_million}")
    return fetch_in_key_order(rows)


def with_label(features, labels, label: str):
    """``features`` (a relation) with the column ``label`` of ``labels`` joined on, last.

    An inner join: rows of dates the labels do not cover are left out. Raises
    ValueError when ``labels`` has no column ``label`` (a build with another
    label_window_days than the labels were built with).
    """
    stale = [name for name in features.columns if is_label_column(name)]
    if stale:
        raise ValueError(
            f"customer_features holds the label column(s) {stale}: the label lives in "
            "customer_labels, and a label among the features would leak the future"
        )
    if label not in labels.columns:
        raise ValueError(
            f"customer_labels has no column {label!r} (it has {labels.columns}): "
            "rebuild customer_labels with the same label_window_days"
        )
    return features.join(
        labels.select(f"customer_id, as_of_date, {label}"), "customer_id, as_of_date"
    )


def registry_row_frame(row: dict) -> pd.DataFrame:
    """One registry row as a DataFrame whose column types never depend on the values.

    An append-only registry takes its column types from its first row; a value
    that happens to be None there (e.g. no previous model to match) would type
    the column NULL and break every later append. So None becomes a typed
    null string, and trained_at is always a UTC timestamp.
    """
    frame = pd.DataFrame([row])
    for column, value in row.items():
        if value is None:
            frame[column] = pd.Series([None], dtype="string")
    frame["trained_at"] = pd.to_datetime(frame["trained_at"], utc=True)
    return frame


def with_date_column(frame: pd.DataFrame, column: str = "as_of_date") -> pd.DataFrame:
    """Make ``column`` hold dates, so it lands as DATE (not TIMESTAMP) like customer_features."""
    frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


def in_key_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by (as_of_date, customer_id).

    DuckDB returns rows in no fixed order (the profile turns insertion order
    off for speed), and seeded sampling picks rows by position, so training
    inputs are put in key order to make a retrain a function of the data alone.
    """
    return frame.sort_values(["as_of_date", "customer_id"], kind="stable").reset_index(drop=True)


def fetch_in_key_order(relation) -> pd.DataFrame:
    """A DuckDB relation's rows read into pandas in (as_of_date, customer_id) order.

    The order of :func:`in_key_order` (one row per customer and date, so it is
    total; VARCHAR ids compare by code point in both), but DuckDB sorts while
    the rows are read: at 1.3M training rows ~0.5 s faster than reading them
    unordered and sorting in pandas. Read through Arrow (:func:`relation_frame`):
    for the 3M training rows at 2.4M customers 7 s and a 5.2 GiB peak, against
    17 s and 8.1 GiB through ``.df()``, with the same trained models.
    """
    return relation_frame(relation.order("as_of_date, customer_id"))


# What propensity_scores and customer_segments publish while no model of their
# kind serves yet (a first build whose gate failed): no rows, the usual columns.
SCORES_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("as_of_date", pa.date32()),
        ("propensity", pa.float64()),
        ("propensity_percentile", pa.float64()),
        ("propensity_decile", pa.int64()),
        ("propensity_band", pa.string()),
        ("is_predicted_buyer", pa.bool_()),
        *(
            (f"reason_{i}{suffix}", pa.string())
            for i in range(1, 4)
            for suffix in ("", "_feature", "_value", "_direction")
        ),
        ("model_id", pa.string()),
    ]
)
SEGMENTS_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("as_of_date", pa.date32()),
        ("segment_id", pa.int64()),
        ("segment_name", pa.string()),
        ("distance_to_centroid", pa.float64()),
        ("segment_model_id", pa.string()),
    ]
)


def nothing_served(schema: pa.Schema) -> pa.Table:
    """An empty table of ``schema``: the output of a scoring model while no model serves."""
    return schema.empty_table()
