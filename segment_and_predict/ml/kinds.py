"""The one interface the model kinds share: train into a registry, serve what it names.

A model kind (propensity, segment) is three things: how a training run reads its
inputs from dbt (``prepare``: the rows and settings, which fingerprint the run, and
the fit that turns them into a registry row), the registry it appends to, and how
the serving model is applied to the scoring snapshot (``serve``). Everything else
is the same for every kind and lives here, once:

- :func:`train_job` (a training Python model): fingerprint the inputs, append
  nothing when the newest registry row was trained on the same ones (a rerun after
  an interrupted build), else fit, with the model serving now as the previous one
  (the segmenter matches its segments to it), and return the row.
- :func:`serve_job` (a scoring Python model): the model ``serving_models`` names for
  the kind, applied to the scoring snapshot of ``customer_features``; an empty table
  of the kind's columns while none has passed its gate.

``dbt`` here is the object dbt hands a Python model (``dbt.ref``, ``dbt.this``,
``dbt.is_incremental``); ``session`` its DuckDB connection. dbt passes a Python model
only the refs and config keys named in the model's own file (it finds them by reading
its source), so each training model names its refs and hands its ``dbt.config.get``
values over as ``config``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType

import pandas as pd
import pyarrow as pa

from .registry import FINGERPRINT_COLUMN, already_trained, no_new_rows, training_fingerprint
from .serving import (
    keys_and_columns,
    nothing_served,
    registry_row_frame,
    scoring_blocks,
    scoring_snapshot,
    serving_model,
    with_date_column,
)


@dataclass(frozen=True)
class TrainingRun:
    """One training run's inputs, read from the warehouse, and how to fit on them.

    ``rows`` (every row the model learns from, in key order: one frame, or several
    taken in turn, never concatenated for the fingerprint) and ``settings`` (the
    parameters that change the outcome) make the run's fingerprint; ``fit`` takes
    the previous serving model's JSON (or None) and returns the registry row.
    """

    rows: pd.DataFrame | tuple[pd.DataFrame, ...]
    settings: Mapping[str, object]
    fit: Callable[[str | None], dict]


@dataclass(frozen=True)
class ModelKind:
    """What makes a model kind: its name, registry, code, inputs and scoring."""

    name: str  # the model_kind of serving_models
    registry: str  # the dbt model that is its append-only registry
    id_column: str  # the registry's model id column
    code: ModuleType  # the package whose source trains it (part of the fingerprint)
    library_versions: Callable[[], dict]
    prepare: Callable[[object, Mapping[str, object]], TrainingRun]  # dbt, config -> the run
    # features, model_json, model_id -> the served rows; the features as one frame, or
    # with serves_in_blocks as an iterator of frames of at most SERVE_BLOCK_ROWS rows
    # (and the rows returned as an Arrow table whose as_of_date is a date)
    serve: Callable[..., pd.DataFrame | pa.Table]
    config_keys: tuple[str, ...]  # the settings ``prepare`` reads (the model's config)
    served_schema: pa.Schema  # the served table's columns, for when nothing serves
    # model_json -> the customer_features columns ``serve`` reads besides the keys
    # (customer_id, as_of_date), so only those are read; None: every column
    input_columns: Callable[[str], Sequence[str]] | None = None
    serves_in_blocks: bool = False


# Rows per block of the scoring snapshot for a kind that serves in blocks: the
# snapshot is read from DuckDB a block at a time, never as one frame.
SERVE_BLOCK_ROWS = 250_000


def serving_model_json(kind: ModelKind, dbt, session) -> str | None:
    """The model of this kind that serves now, as JSON, or None.

    The one serving rule is the SQL model ``serving_models``; a training run comes
    before it in the build (it reads the registries), so this reads its stored table,
    which still names the model the previous run chose: the one serving now. None
    on a first build, or when no model of the kind has passed its gate.
    """
    if not dbt.is_incremental:
        return None
    stored = session.execute(
        "select 1 from information_schema.tables "
        "where table_catalog = ? and table_schema = ? and table_name = 'serving_models'",
        [dbt.this.database, dbt.this.schema],
    ).fetchall()
    if not stored:
        return None
    serving = serving_model(
        session.table(f'"{dbt.this.database}"."{dbt.this.schema}".serving_models'),
        session.sql(f"select * from {dbt.this}"),
        kind=kind.name,
        id_column=kind.id_column,
    )
    return serving[1] if serving else None


def train_job(kind: ModelKind, dbt, session, config: Mapping[str, object]):
    """The body of a kind's training Python model: one registry row, or none on a rerun.

    ``config`` holds the model's settings (``dbt.config.get`` of each key the kind reads).
    """
    missing = [key for key in kind.config_keys if config.get(key) is None]
    if missing:
        raise ValueError(
            f"The {kind.registry} model passes no value for {missing}: its file must hand "
            f"over dbt.config.get(...) of each of {list(kind.config_keys)}"
        )
    run = kind.prepare(dbt, config)
    fingerprint = training_fingerprint(
        run.rows,
        settings=run.settings,
        library_versions=kind.library_versions(),
        code=kind.code,
    )
    if already_trained(dbt, session, fingerprint):
        return no_new_rows(dbt, session)
    row = run.fit(serving_model_json(kind, dbt, session))
    frame = registry_row_frame({**row, FINGERPRINT_COLUMN: fingerprint})
    return with_date_column(frame) if "as_of_date" in frame.columns else frame


def serve_job(kind: ModelKind, dbt):
    """The body of a kind's scoring Python model: today's rows from the serving model."""
    serving = serving_model(
        dbt.ref("serving_models"), dbt.ref(kind.registry), kind=kind.name, id_column=kind.id_column
    )
    if serving is None:
        return nothing_served(kind.served_schema)
    model_id, model_json = serving
    features = dbt.ref("customer_features")
    if kind.input_columns is not None:
        features = keys_and_columns(features, kind.input_columns(model_json))
    if kind.serves_in_blocks:
        blocks = scoring_blocks(features, dbt.ref("int_snapshot_dates"), SERVE_BLOCK_ROWS)
        return kind.serve(blocks, model_json, model_id)
    snapshot = scoring_snapshot(features, dbt.ref("int_snapshot_dates"))
    return with_date_column(kind.serve(snapshot, model_json, model_id))
