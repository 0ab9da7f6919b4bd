"""A tiny warehouse built by hand with the tables the run summary reads (no dbt).

The columns are those of the real tables (models/, python_models/) that
segment_and_predict.dbt.run_summary queries; the values are chosen so every line
of the summary can be checked exactly. Used by test_run_summary.py and
test_cli.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

SCORING_DATE = dt.date(2026, 11, 1)
OLD_PROPENSITY = "prop_old"
NEW_PROPENSITY = "prop_new"
OLD_SEGMENTER = "seg_old"
NEW_SEGMENTER = "seg_new"
# trained_at of the models an earlier run trained, and of the ones "this run" trained
EARLIER = dt.datetime(2026, 10, 1, 6, 0, tzinfo=dt.UTC)
THIS_RUN = dt.datetime(2026, 11, 2, 6, 30, tzinfo=dt.UTC)
RUN_STARTED = dt.datetime(2026, 11, 2, 6, 0, tzinfo=dt.UTC).timestamp()

# (metric, value, comparison, threshold, var) of a model_gate_checks row
PROPENSITY_CHECKS = [
    ("ROC-AUC", 0.8738, ">=", 0.82, "propensity_gate_min_roc_auc"),
    ("PR-AUC", 0.7653, ">=", 0.45, "propensity_gate_min_pr_auc"),
    ("F1", 0.7090, ">=", 0.55, "propensity_gate_min_f1"),
    (
        "no baseline better beyond noise (1 = yes)",
        1.0,
        ">=",
        1.0,
        "propensity_gate_must_beat_baselines",
    ),
]
SEGMENT_CHECKS = [
    ("k (number of segments)", 4.0, ">=", 4.0, "segment_gate_min_k"),
    ("k (number of segments)", 4.0, "<=", 8.0, "segment_gate_max_k"),
    ("silhouette", 0.3020, ">=", 0.2, "segment_gate_min_silhouette"),
    ("stability (ARI)", 0.9521, ">=", 0.75, "segment_gate_min_stability"),
    ("smallest segment share", 0.1533, ">=", 0.03, "segment_gate_min_segment_share"),
]


def _passed(value: float, comparison: str, threshold: float) -> bool:
    return value >= threshold if comparison == ">=" else value <= threshold


def _insert(con, sql: str, rows: list[tuple]) -> None:
    if rows:  # executemany refuses an empty list
        con.executemany(sql, rows)


def make_warehouse(
    path: Path,
    *,
    propensity_checks=PROPENSITY_CHECKS,
    segment_checks=SEGMENT_CHECKS,
    retrained: bool = True,
    trained_at: dt.datetime = THIS_RUN,
    scored: int = 3,
    segmented: int = 3,
    quarantined: tuple[tuple[str, str, str, int], ...] = (
        ("orders", "duplicate_row", "order_id", 3),
        ("orders", "missing_value", "customer_id", 1),
        ("sessions", "unknown_customer", "customer_id", 2),
    ),
    unseen: tuple[tuple[str, str, int], ...] = (),
    skip: tuple[str, ...] = (),
) -> Path:
    """Write the warehouse file and return its path.

    With ``retrained`` the newest model of each kind was trained by this run
    (at ``trained_at``, by default after RUN_STARTED) on top of an older one;
    the gate of each newest model is judged from its checks, and serving_models
    follows the serving rule (the newest that passed). ``skip`` leaves out tables
    ("schema.table" or "table"), as in a warehouse built by an older version.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    new_p = all(_passed(v, c, t) for _, v, c, t, _ in propensity_checks)
    new_s = all(_passed(v, c, t) for _, v, c, t, _ in segment_checks)
    propensity = [(OLD_PROPENSITY, EARLIER, True)]
    segments = [(OLD_SEGMENTER, EARLIER, True)]
    if retrained:
        propensity.append((NEW_PROPENSITY, trained_at, new_p))
        segments.append((NEW_SEGMENTER, trained_at, new_s))
    newest_p, newest_s = propensity[-1], segments[-1]
    serving_p = next(m for m, _, ok in reversed(propensity) if ok)
    serving_s = next(m for m, _, ok in reversed(segments) if ok)
    earlier_day = SCORING_DATE - dt.timedelta(days=1)

    def wanted(name: str) -> bool:
        return name not in skip and name.split(".")[-1] not in skip

    with duckdb.connect(str(path)) as con:
        con.execute("create schema intermediate")
        if wanted("intermediate.int_snapshot_dates"):
            con.execute(
                "create table intermediate.int_snapshot_dates "
                "(as_of_date date, is_scoring_snapshot boolean, is_training_snapshot boolean)"
            )
            con.execute(
                "insert into intermediate.int_snapshot_dates values (?, true, false), "
                "(date '2026-09-02', false, true)",
                [SCORING_DATE],
            )
        for table, count, model_column, model in (
            ("propensity_scores", scored, "model_id", serving_p),
            ("customer_segments", segmented, "segment_model_id", serving_s),
        ):
            if not wanted(table):
                continue
            con.execute(
                f"create table {table} (customer_id varchar, as_of_date date, "
                f"{model_column} varchar)"
            )
            # rows of the scoring date, and older rows the summary must not count
            for day, n in ((SCORING_DATE, count), (earlier_day, 7)):
                con.execute(
                    f"insert into {table} select 'c' || i, ?, ? from range(?) t(i)",
                    [day, model, n],
                )
        if wanted("propensity_models"):
            con.execute(
                "create table propensity_models "
                "(model_id varchar, trained_at timestamptz, passed_quality_gate boolean)"
            )
            con.executemany("insert into propensity_models values (?, ?, ?)", propensity)
        if wanted("segment_models"):
            con.execute(
                "create table segment_models "
                "(segment_model_id varchar, trained_at timestamptz, passed_quality_gate boolean)"
            )
            con.executemany("insert into segment_models values (?, ?, ?)", segments)
        if wanted("serving_models"):
            con.execute(
                "create table serving_models (model_kind varchar, serving_model_id varchar, "
                "newest_model_id varchar, newest_passed_quality_gate boolean)"
            )
            con.executemany(
                "insert into serving_models values (?, ?, ?, ?)",
                [
                    ("propensity", serving_p, newest_p[0], newest_p[2]),
                    ("segment", serving_s, newest_s[0], newest_s[2]),
                ],
            )
        if wanted("model_gate_checks"):
            con.execute(
                "create table model_gate_checks (model_kind varchar, check_order integer, "
                "model_id varchar, metric varchar, metric_value double, comparison varchar, "
                "threshold double, var_name varchar, passed boolean, serving_model_id varchar, "
                "message varchar)"
            )
            rows = []
            for kind, model, serving, checks in (
                ("propensity", newest_p[0], serving_p, propensity_checks),
                ("segment", newest_s[0], serving_s, segment_checks),
            ):
                for order, (metric, value, comparison, threshold, var) in enumerate(checks, 1):
                    ok = _passed(value, comparison, threshold)
                    message = None if ok else f"Quality gate failed: {kind} model {model}"
                    rows.append(
                        (kind, order, model, metric, value, comparison, threshold, var, ok)
                        + (serving, message)
                    )
            con.executemany(
                "insert into model_gate_checks values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
        if wanted("data_quality_issues"):
            con.execute(
                "create table data_quality_issues (table_name varchar, rule varchar, "
                "column_name varchar, rows_quarantined bigint, rows_in_table bigint, "
                "quarantined_share double, example_key varchar, load_date date, "
                "checked_at timestamp)"
            )
            _insert(
                con,
                "insert into data_quality_issues values (?, ?, ?, ?, 1000, ? / 1000, 'k', "
                "date '2026-11-02', timestamp '2026-11-02 06:00:00')",
                [(t, r, c, n, n) for t, r, c, n in quarantined],
            )
        if wanted("unseen_category_values"):
            con.execute(
                "create table unseen_category_values (as_of_date date, model_id varchar, "
                "feature varchar, category_value varchar, customers bigint)"
            )
            _insert(
                con,
                "insert into unseen_category_values values (?, ?, ?, ?, ?)",
                [(SCORING_DATE, serving_p, f, v, n) for f, v, n in unseen],
            )
    return path
