"""Walk-forward backtest: train and score as of each date, then measure what really happened.

``segment-and-predict backtest --from D1 --to D2 --every 30d`` runs, for each
date D from D1 to D2, the full build (features, training of both models,
scoring, segments, marts, tests) with ``as_of_date = D`` into a scratch
warehouse beside the main one (``<main>_backtest.duckdb``), so the main
warehouse's public tables are never touched. Because as_of_date anchors every
date the pipeline uses (int_snapshot_dates), each build sees only what an
export taken on the morning of D would hold.

After the last date, the labels of every date are read from
``customer_labels`` (the one place the label rule lives) in a build with
the default as_of_date, so a date's label window counts as closed when it ends
by the day after the last event. For each date and method (the LightGBM model
trained as of D, and the two baselines fitted exactly as training fits them)
the realised ROC-AUC, PR-AUC, F1 at the stored threshold and top-decile lift
come from :func:`segment_and_predict.ml.propensity.metrics.classification_metrics`.
One row per date and method lands in the scratch warehouse's table
``backtest_results`` (columns: :data:`BACKTEST_COLUMNS`, docs/backtest.md).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import pandas as pd

from segment_and_predict.dbt.jobs import (
    JobError,
    Warehouse,
    dbt_target_dir,
    full_build,
    job_vars,
    run_dbt,
)
from segment_and_predict.ml.labels import LABELS_TABLE, label_column
from segment_and_predict.ml.propensity.baselines import (
    BgNbdBaseline,
    LogisticRegressionBaseline,
    RecencyFrequencyRule,
)
from segment_and_predict.ml.propensity.data import FeatureEncoder, label_as_float, split_snapshots
from segment_and_predict.ml.propensity.metrics import classification_metrics
from segment_and_predict.ml.propensity.model import PropensityModel
from segment_and_predict.ml.propensity.training import train_propensity_model
from segment_and_predict.ml.serving import fetch_in_key_order, training_rows

LIGHTGBM = "lightgbm"
# The baselines are fitted with the seed the training job uses, so each is the
# one whose test metrics the registry row holds.
TRAINING_SEED = train_propensity_model.__kwdefaults__["seed"]

# The table's columns, types and meaning: the one statement of its contract
# (docs/backtest.md repeats it for people; a test checks they agree).
BACKTEST_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("as_of_date", "DATE", "The date trained and scored as of (only orders before it were used)."),
    ("method", "VARCHAR", "lightgbm, logistic_regression, recency_frequency_rule or bgnbd."),
    ("model_id", "VARCHAR", "The propensity model trained as of the date (same for all methods)."),
    ("passed_quality_gate", "BOOLEAN", "Whether that model passed its gate (it would serve)."),
    ("test_as_of_date", "DATE", "The model's held-out test snapshot (as_of_date - label window)."),
    ("test_roc_auc", "DOUBLE", "The method's ROC-AUC on that test snapshot, as training saw it."),
    ("test_pr_auc", "DOUBLE", "The method's PR-AUC on that test snapshot."),
    ("label_window_end_date", "DATE", "First day after the realised label window."),
    ("is_label_window_closed", "BOOLEAN", "The window ends by the day after the last event."),
    ("customers", "BIGINT", "Customers scored as of the date (signed up before it)."),
    ("buyers", "BIGINT", "Of them, who ordered in the label window (null if not closed)."),
    ("base_rate", "DOUBLE", "buyers / customers."),
    ("threshold", "DOUBLE", "The method's stored yes/no threshold (chosen on validation)."),
    ("roc_auc", "DOUBLE", "Realised ROC-AUC of the scores as of the date."),
    ("pr_auc", "DOUBLE", "Realised PR-AUC (average precision)."),
    ("f1", "DOUBLE", "Realised F1 of the yes/no decision at the stored threshold."),
    ("precision", "DOUBLE", "Realised precision at the stored threshold."),
    ("recall", "DOUBLE", "Realised recall at the stored threshold."),
    ("top_decile_lift", "DOUBLE", "Purchase rate of the top 10% of scores over the base rate."),
    ("build_succeeded", "BOOLEAN", "The date's dbt build ended without an error (gates included)."),
)


class BacktestError(JobError):
    """A backtest could not run; the message says why and what to do."""


def parse_every(text: str) -> int:
    """'30d' (or '30') -> 30 days; raises BacktestError for anything else."""
    match = re.fullmatch(r"\s*([0-9]+)\s*d?\s*", text)
    if not match or int(match.group(1)) < 1:
        raise BacktestError(f"--every must be a number of days such as 30d; got {text!r}")
    return int(match.group(1))


def backtest_dates(start: dt.date, end: dt.date, every_days: int) -> list[str]:
    """start, start + every, ... up to end (inclusive), as YYYY-MM-DD."""
    if end < start:
        raise BacktestError(f"--to ({end}) is before --from ({start})")
    dates = []
    day = start
    while day <= end:
        dates.append(day.isoformat())
        day += dt.timedelta(days=every_days)
    return dates


def scratch_warehouse(main: Warehouse) -> Warehouse:
    """The backtest's own DuckDB file, beside the main one: <name>_backtest.duckdb.

    (Not <name>.backtest.duckdb: DuckDB names the database after the file, and a
    dot in that name breaks dbt's relation names.)
    """
    path = main.warehouse_path
    return replace(main, warehouse_path=path.with_name(f"{path.stem}_backtest{path.suffix}"))


@dataclass
class _DatePredictions:
    as_of_date: str
    model_id: str
    passed_quality_gate: bool
    test_as_of_date: str
    test_metrics: dict[str, tuple[float, float]]
    thresholds: dict[str, float]
    scores: pd.DataFrame  # customer_id and one probability column per method
    build_succeeded: bool


def _predict_as_of(
    con: duckdb.DuckDBPyConnection,
    as_of_date: str,
    succeeded: bool,
    max_training_rows: int,
    label: str,
):
    """Scores of the three methods as of the date, from the model this build trained."""
    registry = con.execute(
        "select model_id, model_json, passed_quality_gate, test_as_of_date, threshold, "
        "roc_auc, pr_auc, logreg_roc_auc, logreg_pr_auc, rule_roc_auc, rule_pr_auc, "
        "bgnbd_roc_auc, bgnbd_pr_auc "
        "from propensity_models order by trained_at desc limit 1"
    ).fetchall()
    snapshot = con.table("intermediate.int_snapshot_dates")
    features = con.table("customer_features")
    scoring = fetch_in_key_order(features.filter(f"as_of_date = date '{as_of_date}'").select("*"))
    if not registry or len(scoring) == 0:
        return None
    (model_id, model_json, passed, test_date, threshold, *test) = registry[0]
    # The build trains on the labelled training snapshots; refit the baselines
    # on exactly those rows, as train_propensity_model does.
    labels = con.table(LABELS_TABLE)
    labelled = training_rows(features, labels, snapshot, label=label, max_rows=max_training_rows)
    split = split_snapshots(labelled, label=label)
    if str(split.test_date)[:10] != str(test_date)[:10]:
        # this build did not append a model (e.g. it stopped before training)
        return None
    encoder = FeatureEncoder().fit(split.train)
    x_train, x_val = encoder.transform(split.train), encoder.transform(split.validation)
    y_train, y_val = label_as_float(split.train[label]), label_as_float(split.validation[label])
    model = PropensityModel.from_json(model_json)
    scores = pd.DataFrame({"customer_id": scoring["customer_id"].to_numpy()})
    scores[LIGHTGBM] = model.predict_probability(model.encoder_.transform(scoring))
    thresholds = {LIGHTGBM: float(threshold)}
    x_scoring = encoder.transform(scoring)
    for baseline in (
        LogisticRegressionBaseline(seed=TRAINING_SEED),
        RecencyFrequencyRule(seed=TRAINING_SEED),
        BgNbdBaseline(seed=TRAINING_SEED),
    ):
        baseline.fit(x_train, y_train, x_val, y_val)
        scores[baseline.name] = baseline.predict_probability(x_scoring)
        thresholds[baseline.name] = float(baseline.threshold_)
    return _DatePredictions(
        as_of_date=as_of_date,
        model_id=str(model_id),
        passed_quality_gate=bool(passed),
        test_as_of_date=str(test_date)[:10],
        test_metrics={
            LIGHTGBM: (test[0], test[1]),
            LogisticRegressionBaseline.name: (test[2], test[3]),
            RecencyFrequencyRule.name: (test[4], test[5]),
            BgNbdBaseline.name: (test[6], test[7]),
        },
        thresholds=thresholds,
        scores=scores,
        build_succeeded=succeeded,
    )


def _project_var(project_dir: Path, name: str) -> object:
    """A var's default from dbt_project.yml (the one place defaults are set)."""
    import yaml

    return yaml.safe_load((project_dir / "dbt_project.yml").read_text())["vars"][name]


def _scratch_env(scratch: Warehouse) -> dict[str, str]:
    """dbt's compiled files and run results of the backtest go to target/backtest/<scratch>.

    So a backtest never overwrites what the daily job or a build of the main
    warehouse leaves in target/ (run results, manifest), even while one runs.
    """
    name = scratch.warehouse_path.stem
    return {"DBT_TARGET_PATH": str(dbt_target_dir(scratch.project_dir) / "backtest" / name)}


def _labels(
    scratch: Warehouse, dates: list[str], dbt_vars: Mapping[str, object], label: str
) -> pd.DataFrame:
    """customer_id, as_of_date, label and window end of each backtest date (customer_labels)."""
    result = run_dbt(
        ["run", "--select", "int_snapshot_dates", "int_customer_snapshots", "customer_labels"],
        scratch,
        dbt_vars={**job_vars("default", dbt_vars), "backtest_label_dates": dates},
        capture=True,
        extra_env=_scratch_env(scratch),
    )
    if result.returncode != 0:
        raise BacktestError(
            "Reading the labels of the backtest dates failed (dbt run of customer_labels):\n"
            + result.stdout[-2000:]
        )
    in_dates = ", ".join(f"date '{d}'" for d in dates)
    with duckdb.connect(str(scratch.warehouse_path), read_only=True) as con:
        return con.execute(
            f"select customer_id, cast(as_of_date as varchar) as as_of_date, "
            f"label_window_end_date, {label} as label "
            f"from {LABELS_TABLE} where as_of_date in ({in_dates})"
        ).df()


def _result_rows(predictions: _DatePredictions, labels: pd.DataFrame) -> list[dict]:
    mine = labels[labels["as_of_date"] == predictions.as_of_date]
    merged = predictions.scores.merge(mine, on="customer_id", how="left")
    closed = bool(len(mine)) and bool(merged["label"].notna().all())
    window_end = mine["label_window_end_date"].iloc[0] if len(mine) else None
    rows = []
    for method, threshold in predictions.thresholds.items():
        row = {
            "as_of_date": predictions.as_of_date,
            "method": method,
            "model_id": predictions.model_id,
            "passed_quality_gate": predictions.passed_quality_gate,
            "test_as_of_date": predictions.test_as_of_date,
            "test_roc_auc": predictions.test_metrics[method][0],
            "test_pr_auc": predictions.test_metrics[method][1],
            "label_window_end_date": window_end,
            "is_label_window_closed": closed,
            "customers": len(merged),
            "buyers": int(merged["label"].astype("float").sum()) if closed else None,
            "threshold": threshold,
            "build_succeeded": predictions.build_succeeded,
        }
        if closed:
            y = merged["label"].astype("float").to_numpy()
            metrics = classification_metrics(y, merged[method].to_numpy(), threshold)
            row["base_rate"] = metrics["positive_rate"]
            for name in ("roc_auc", "pr_auc", "f1", "precision", "recall", "top_decile_lift"):
                row[name] = metrics[name]
        rows.append(row)
    return rows


def _write_results(scratch: Warehouse, rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[c[0] for c in BACKTEST_COLUMNS])
    columns = ", ".join(f'"{name}" {kind}' for name, kind, _ in BACKTEST_COLUMNS)
    casts = ", ".join(f'cast("{name}" as {kind}) as "{name}"' for name, kind, _ in BACKTEST_COLUMNS)
    with duckdb.connect(str(scratch.warehouse_path)) as con:
        con.execute(f"create or replace table main.backtest_results ({columns})")
        con.register("backtest_rows", frame)
        con.execute(f"insert into main.backtest_results select {casts} from backtest_rows")
        for name, _, description in BACKTEST_COLUMNS:
            text = description.replace("'", "''")
            con.execute(f"comment on column main.backtest_results.\"{name}\" is '{text}'")
        return con.execute("select * from main.backtest_results order by as_of_date, method").df()


def run_backtest(
    main: Warehouse,
    dates: list[str],
    *,
    dbt_vars: Mapping[str, object] | None = None,
    log: Callable[[str], None] = print,
) -> pd.DataFrame:
    """Train and score as of each date in a scratch warehouse, then record realised metrics.

    Returns backtest_results (also written to the scratch warehouse). A date whose
    build stopped before a model was trained raises BacktestError with dbt's tail.
    """
    dbt_vars = dict(dbt_vars or {})
    for date in dates:
        job_vars(date, dbt_vars)  # plain errors for a bad date or var before any build
    scratch = scratch_warehouse(main)
    max_training_rows = int(
        dbt_vars.get("propensity_max_training_rows")
        or _project_var(main.project_dir, "propensity_max_training_rows")
    )
    # the label column is named for its window (segment_and_predict.ml.labels)
    label = label_column(
        dbt_vars.get("label_window_days") or _project_var(main.project_dir, "label_window_days")
    )
    if scratch.warehouse_path.resolve() == main.warehouse_path.resolve():
        raise BacktestError("the scratch warehouse would be the main warehouse")
    for leftover in (scratch.warehouse_path, Path(f"{scratch.warehouse_path}.wal")):
        leftover.unlink(missing_ok=True)
    collected = []
    for date in dates:
        started = time.monotonic()
        result = full_build(
            scratch,
            as_of_date=date,
            dbt_vars=dbt_vars,
            capture=True,
            extra_env=_scratch_env(scratch),
        )
        with duckdb.connect(str(scratch.warehouse_path), read_only=True) as con:
            try:
                predictions = _predict_as_of(
                    con, date, result.returncode == 0, max_training_rows, label
                )
            except duckdb.CatalogException:
                predictions = None
        if predictions is None:
            raise BacktestError(
                f"The build as of {date} trained no propensity model, so there is nothing to "
                "backtest on that date (is it too early in the data for the training snapshots, "
                f"or did the build stop before training?). dbt's output ends with:\n"
                f"{result.stdout[-2000:]}"
            )
        collected.append(predictions)
        status = "ok" if result.returncode == 0 else "build ended with a failed test (see scratch)"
        log(
            f"as of {date}: trained {predictions.model_id} "
            f"(gate {'passed' if predictions.passed_quality_gate else 'failed'}), {status}, "
            f"{time.monotonic() - started:.0f} s"
        )
    labels = _labels(scratch, dates, dbt_vars, label)
    rows = [row for p in collected for row in _result_rows(p, labels)]
    return _write_results(scratch, rows)


def format_results(frame: pd.DataFrame) -> str:
    """backtest_results as a Markdown table: one line per date, methods side by side."""

    def fmt(value: object, digits: int = 3) -> str:
        return "" if value is None or pd.isna(value) else f"{value:.{digits}f}"

    lines = [
        "| as_of_date | gate | ROC-AUC | PR-AUC | F1 | top-decile lift | base rate | "
        "logreg ROC / PR / F1 | rule ROC / PR / F1 | BG/NBD ROC / PR / F1 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for day, group in frame.groupby("as_of_date", sort=True):
        date = pd.Timestamp(day).date().isoformat()
        by = {row["method"]: row for _, row in group.iterrows()}
        m = by[LIGHTGBM]
        if not m["is_label_window_closed"]:
            lines.append(
                f"| {date} | {'pass' if m['passed_quality_gate'] else 'fail'} | "
                "label window not closed | | | | | | | |"
            )
            continue
        base = " / ".join
        lines.append(
            f"| {date} | {'pass' if m['passed_quality_gate'] else 'fail'} | {fmt(m['roc_auc'])} | "
            f"{fmt(m['pr_auc'])} | {fmt(m['f1'])} | {fmt(m['top_decile_lift'], 2)} | "
            f"{fmt(m['base_rate'])} | "
            + base(fmt(by[LogisticRegressionBaseline.name][k]) for k in ("roc_auc", "pr_auc", "f1"))
            + " | "
            + base(fmt(by[RecencyFrequencyRule.name][k]) for k in ("roc_auc", "pr_auc", "f1"))
            + " | "
            + base(fmt(by[BgNbdBaseline.name][k]) for k in ("roc_auc", "pr_auc", "f1"))
            + " |"
        )
    closed = frame[frame["is_label_window_closed"].astype(bool)]
    if len(closed):
        means = closed.groupby("method")[["roc_auc", "pr_auc"]].mean()
        order = (LIGHTGBM, LogisticRegressionBaseline.name, RecencyFrequencyRule.name)
        order += (BgNbdBaseline.name,)
        lines.append("")
        lines.append(
            f"Mean over the {closed['as_of_date'].nunique()} closed dates (ROC-AUC / PR-AUC): "
            + "; ".join(
                f"{m} {fmt(means.loc[m, 'roc_auc'])} / {fmt(means.loc[m, 'pr_auc'])}"
                for m in order
                if m in means.index
            )
        )
    return "\n".join(lines)
