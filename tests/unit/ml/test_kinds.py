"""The steps every model kind shares (segment_and_predict.ml.kinds), on a small
DuckDB and a stand-in for the object dbt hands a Python model."""

from __future__ import annotations

import ast
import dataclasses
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

import segment_and_predict.ml as ml_package
from segment_and_predict.ml.kinds import ModelKind, TrainingRun, serve_job, train_job
from segment_and_predict.ml.propensity.kind import PROPENSITY
from segment_and_predict.ml.segmentation.kind import SEGMENTS
from segment_and_predict.ml.serving import registry_row_frame

PROJECT = Path(__file__).resolve().parents[3]


class FakeThis:
    """dbt.this: the model's own relation (database, schema, identifier; its name as text)."""

    def __init__(self, identifier: str):
        self.database, self.schema, self.identifier = "memory", "main", identifier

    def __repr__(self) -> str:
        return f'"{self.database}"."{self.schema}"."{self.identifier}"'


class FakeDbt:
    """What a dbt Python model sees: refs as DuckDB relations, the model's own table."""

    def __init__(self, session, *, this: str, is_incremental: bool):
        self._session = session
        self.this = FakeThis(this)
        self.is_incremental = is_incremental

    def ref(self, name: str):
        return self._session.table(name)


def _session() -> duckdb.DuckDBPyConnection:
    session = duckdb.connect()
    session.execute(
        "create table customer_features as select * from (values "
        "('a', date '2024-01-01', 1.0), ('b', date '2024-01-01', 2.0), "
        "('a', date '2024-02-01', 3.0), ('b', date '2024-02-01', 4.0)) "
        "as t(customer_id, as_of_date, orders_365d)"
    )
    session.execute(
        "create table int_snapshot_dates as select * from (values "
        "(date '2024-01-01', false), (date '2024-02-01', true)) "
        "as t(as_of_date, is_scoring_snapshot)"
    )
    return session


def _toy_kind(fits: list) -> ModelKind:
    def prepare(dbt, config):
        rows = dbt.ref("customer_features").order("as_of_date, customer_id").df()

        def fit(previous):
            fits.append(previous)
            return {
                "toy_model_id": f"toy-{len(fits)}",
                "trained_at": "2024-02-01T00:00:00Z",
                "passed_quality_gate": True,
                "model_json": f'{{"scale": {config["scale"]}}}',
            }

        return TrainingRun(rows=rows, settings={"scale": config["scale"]}, fit=fit)

    def serve(features, model_json, model_id):
        scale = float(model_json.split(":")[1].strip(" }"))
        return pd.DataFrame(
            {
                "customer_id": features["customer_id"],
                "as_of_date": features["as_of_date"],
                "score": features["orders_365d"] * scale,
                "model_id": model_id,
            }
        )

    return ModelKind(
        name="toy",
        registry="toy_models",
        id_column="toy_model_id",
        code=ml_package,
        library_versions=lambda: {"toy": "1"},
        prepare=prepare,
        serve=serve,
        config_keys=("scale",),
        served_schema=pa.schema([("customer_id", pa.string()), ("score", pa.float64())]),
    )


def test_a_training_run_appends_one_row_and_a_rerun_on_the_same_inputs_none():
    session, fits = _session(), []
    kind = _toy_kind(fits)
    first = train_job(
        kind, FakeDbt(session, this="toy_models", is_incremental=False), session, {"scale": 2}
    )
    assert len(first) == 1 and first["training_fingerprint"].iloc[0]
    assert fits == [None]  # nothing served before the first model
    session.register("first", first)
    session.execute("create table toy_models as select * from first")

    again = train_job(
        kind, FakeDbt(session, this="toy_models", is_incremental=True), session, {"scale": 2}
    )
    assert len(again.df()) == 0 and fits == [None]  # the same inputs: not trained again

    changed = train_job(
        kind, FakeDbt(session, this="toy_models", is_incremental=True), session, {"scale": 3}
    )
    assert len(changed) == 1
    assert fits == [None, None]  # new settings: trained; no serving_models yet, so no previous
    session.register("changed", changed)
    session.execute("insert into toy_models select * from changed")

    # the previous model is the one serving_models names (its stored table), not the
    # registry's newest passing row: the serving rule has one owner
    session.execute(
        "create table serving_models as select 'toy' as model_kind, 'toy-1' as serving_model_id"
    )
    train_job(kind, FakeDbt(session, this="toy_models", is_incremental=True), session, {"scale": 4})
    assert fits == [None, None, '{"scale": 2}']


def test_a_training_model_that_passes_no_config_value_is_refused():
    session = _session()
    with pytest.raises(ValueError, match=r"toy_models model passes no value for \['scale'\]"):
        train_job(_toy_kind([]), FakeDbt(session, this="t", is_incremental=False), session, {})


def test_serving_applies_the_named_model_to_the_scoring_date_or_serves_nothing():
    session = _session()
    kind = _toy_kind([])
    registry = registry_row_frame(
        {
            "toy_model_id": "toy-1",
            "trained_at": "2024-02-01T00:00:00Z",
            "model_json": '{"scale": 10}',
        }
    )
    session.register("registry", registry)
    session.execute("create table toy_models as select * from registry")
    session.execute(
        "create table serving_models as "
        "select 'toy' as model_kind, null::varchar as serving_model_id"
    )
    dbt = FakeDbt(session, this="toy_scores", is_incremental=False)
    nothing = serve_job(kind, dbt)
    assert isinstance(nothing, pa.Table) and nothing.num_rows == 0
    assert nothing.schema == kind.served_schema

    session.execute("update serving_models set serving_model_id = 'toy-1'")
    served = serve_job(kind, dbt).sort_values("customer_id")
    assert served["score"].tolist() == [30.0, 40.0]  # only the scoring date, 2024-02-01
    assert served["as_of_date"].tolist() == [date(2024, 2, 1)] * 2
    assert set(served["model_id"]) == {"toy-1"}


def test_serving_reads_only_the_columns_the_kind_names():
    session = _session()
    session.execute("alter table customer_features add column unused double default 1.0")
    seen = []

    def serve(features, model_json, model_id):
        seen.append(list(features.columns))
        return features[["customer_id", "as_of_date"]]

    kind = dataclasses.replace(_toy_kind([]), serve=serve, input_columns=lambda _: ["orders_365d"])
    registry = registry_row_frame(
        {"toy_model_id": "toy-1", "trained_at": "2024-02-01T00:00:00Z", "model_json": "{}"}
    )
    session.register("registry", registry)
    session.execute("create table toy_models as select * from registry")
    session.execute(
        "create table serving_models as select 'toy' as model_kind, 'toy-1' as serving_model_id"
    )
    served = serve_job(kind, FakeDbt(session, this="toy_scores", is_incremental=False))
    assert seen == [["customer_id", "as_of_date", "orders_365d"]]
    assert len(served) == 2


def _config_keys_named(path: Path) -> set[str]:
    """The keys of every dbt.config.get("...") call in a Python model's source."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and ast.unparse(node.func.value) == "dbt.config"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(node.args[0].value)
    return found


@pytest.mark.parametrize(
    ("kind", "model_file"),
    [
        (PROPENSITY, "python_models/propensity/propensity_models.py"),
        (SEGMENTS, "python_models/segments/segment_models.py"),
    ],
)
def test_each_training_model_hands_over_every_setting_its_kind_reads(kind, model_file):
    # dbt gives a Python model only the config keys its own source names
    assert set(kind.config_keys) <= _config_keys_named(PROJECT / model_file)
