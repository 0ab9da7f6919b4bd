"""The short summary the CLI prints at the end of ``build`` and ``daily``.

dbt's output lists every node; this says in about a dozen lines what the run
means for its users: the scoring date, how many customers were scored and
segmented, the models trained and their quality-gate values against the
thresholds (build), which models serve, the rows quarantined, where BI tools
read the result and how to write the report. A run that did not complete says
what failed and that the public tables were not replaced, and summarises the
copy the job kept aside (``<warehouse>.failed.duckdb``, segment_and_predict.dbt.jobs).

:func:`summary_lines` reads the warehouse read-only after dbt has finished. A
table an older warehouse lacks (or a file that cannot be opened) gives "n/a"
on its line, never an error: the summary must not turn a finished run into a
traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .history import archived_dates
from .jobs import dbt_target_dir

# segment_and_predict.report.DEFAULT_REPORT_PATH (not imported: the report
# package loads matplotlib); tests/unit/dbt/test_run_summary.py checks they agree.
REPORT_PATH = "reports/report.html"
# The dbt model that publishes the BI snapshot (python_models/publishing/bi_snapshot.py).
BI_SNAPSHOT_NODE = "model.segment_and_predict.bi_snapshot"
# The nodes whose rows the summary counts; a run that did not complete counts a
# table only when this run built it (else the copy holds the previous run's rows).
SCORES_NODE = "model.segment_and_predict.propensity_scores"
SEGMENTS_NODE = "model.segment_and_predict.customer_segments"
QUALITY_NODE = "model.segment_and_predict.data_quality_issues"
DATES_NODE = "model.segment_and_predict.int_snapshot_dates"

NA = "n/a"
MAX_NAMES_SHOWN = 4


@dataclass(frozen=True)
class RunFacts:
    """What the job knows after dbt has finished.

    ``kept``: the run's tables are now the warehouse's (False when the job threw
    its working copy away). ``failed_copy``: where the job kept that copy, when it
    did (this run's, not an older one). ``bi_published``: the folder BI tools read
    (``<publish dir>/current``) when this run published the snapshot, else None;
    ``publish_dir`` is where they read in any case. ``started``: ``time.time()``
    when the run started, to tell the models it trained from older ones.
    ``node_statuses``: dbt's status of each node in this run (run_results.json),
    keyed by unique_id; empty when unknown. ``history_dir``: where the daily job
    moves customer_features' older dates (segment_and_predict.dbt.history).
    """

    command: str
    returncode: int
    kept: bool
    warehouse_path: Path
    failed_copy: Path | None = None
    bi_published: Path | None = None
    publish_dir: Path | None = None
    started: float | None = None
    node_statuses: Mapping[str, str] = field(default_factory=dict)
    history_dir: Path | None = None


def run_node_statuses(project_dir: Path, since: float | None = None) -> dict[str, str]:
    """{unique_id: status} of the last dbt run on this project, or {} when its
    run_results.json is missing, unreadable or older than ``since`` (a run that
    stopped before writing its own)."""
    path = dbt_target_dir(project_dir) / "run_results.json"
    try:
        if since is not None and path.stat().st_mtime < since:
            return {}
        results = json.loads(path.read_text(encoding="utf-8")).get("results", [])
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(r.get("unique_id")): str(r.get("status")) for r in results if isinstance(r, dict)}


# ------------------------------------------------------------------ reading


class _Reader:
    """Read-only queries on one warehouse file; a missing table or file gives None."""

    def __init__(self, path: Path | None):
        import duckdb

        self.error: str | None = None
        self.con = None
        if path is None or not Path(path).is_file():
            self.error = f"no warehouse file at {path}"
            return
        try:
            self.con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            self.error = str(exc).splitlines()[0]

    def close(self) -> None:
        if self.con is not None:
            self.con.close()

    def has(self, table: str, schema: str = "main") -> bool:
        if self.con is None:
            return False
        return bool(
            self.con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchall()[0][0]
        )

    def rows(self, sql: str, params: Sequence[object] = (), *tables: str) -> list[tuple] | None:
        """The query's rows, or None when a table it reads (schema.table or table) is missing."""
        import duckdb

        for table in tables:
            schema, _, name = table.rpartition(".")
            if not self.has(name, schema or "main"):
                return None
        try:
            return self.con.execute(sql, list(params)).fetchall()
        except duckdb.Error:
            return None


def _scoring_date(db: _Reader):
    rows = db.rows(
        "select max(as_of_date) from intermediate.int_snapshot_dates where is_scoring_snapshot",
        (),
        "intermediate.int_snapshot_dates",
    )
    if rows and rows[0][0] is not None:
        return rows[0][0]
    # an older warehouse: the latest date scores were written for
    for table in ("propensity_scores", "customer_segments"):
        rows = db.rows(f"select max(as_of_date) from main.{table}", (), table)
        if rows and rows[0][0] is not None:
            return rows[0][0]
    return None


def _count_on(db: _Reader, table: str, day) -> str:
    """Rows of ``table`` on the scoring date, as text ("n/a" with the reason when unknown)."""
    if day is None:
        return NA
    rows = db.rows(f"select count(*) from main.{table} where as_of_date = ?", (day,), table)
    return f"{NA} (no {table} table)" if rows is None else f"{rows[0][0]:,}"


# ------------------------------------------------------------------ wording


def _value(value: float | None, share: bool = False) -> str:
    if value is None:
        return "missing"
    return f"{value:.1%}" if share else f"{value:.3f}"


def _threshold(value: float | None, share: bool = False) -> str:
    if value is None:
        return "?"
    return f"{value:.1%}" if share else f"{value:g}"


def _check(name: str, value: str, gate: str, passed: bool) -> str:
    return f"{name} {value} ({gate})" if passed else f"{name} {value} (FAILED: required {gate})"


def _gate_values(checks: list[dict]) -> str:
    """The gate's checks in one line: each value against its threshold, failures marked."""
    parts = []
    k_checks = [c for c in checks if c["metric"].startswith("k ")]
    for c in checks:
        metric, value, threshold = c["metric"], c["metric_value"], c["threshold"]
        if c["metric"].startswith("k "):
            if c is not k_checks[0]:
                continue  # min and max k: one entry
            low = next((x["threshold"] for x in k_checks if x["comparison"] == ">="), None)
            high = next((x["threshold"] for x in k_checks if x["comparison"] == "<="), None)
            k = NA if value is None else f"{value:g}"
            gate = f"{_threshold(low)} to {_threshold(high)}"
            parts.append(_check("k", k, gate, all(x["passed"] for x in k_checks)))
        elif metric.startswith("no baseline better"):
            if not threshold:
                parts.append("beating the baselines not required")
            else:
                verdict = "yes" if value else "no"
                parts.append(
                    f"beats the baselines: {verdict}"
                    + ("" if c["passed"] else " (FAILED: required)")
                )
        else:
            share = "share" in metric
            label = {
                "stability (ARI)": "stability",
                "smallest segment share": "smallest segment",
            }.get(metric, metric)
            gate = f"{c['comparison']} {_threshold(threshold, share)}"
            parts.append(_check(label, _value(value, share), gate, c["passed"]))
    return ", ".join(parts)


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if hasattr(value, "strftime") else str(value)


_KINDS = {
    "propensity": ("Propensity model", "propensity_models", "model_id"),
    "segment": ("Segmenter", "segment_models", "segment_model_id"),
}


def _trained_lines(db: _Reader, facts: RunFacts) -> list[str]:
    """Per model kind: the model this run trained and its gate, or that it trained none."""
    lines = []
    checks = db.rows(
        "select model_kind, model_id, metric, metric_value, comparison, threshold, passed "
        "from main.model_gate_checks order by model_kind, check_order",
        (),
        "model_gate_checks",
    )
    columns = ("model_kind", "model_id", "metric", "metric_value", "comparison", "threshold")
    checks = [dict(zip((*columns, "passed"), row, strict=True)) for row in checks or []]
    for kind, (label, registry, id_column) in _KINDS.items():
        newest = db.rows(
            f"select {id_column}, trained_at, epoch(trained_at), passed_quality_gate "
            f"from main.{registry} order by trained_at desc, {id_column} desc limit 1",
            (),
            registry,
        )
        if newest is None:
            lines.append(f"{label}: {NA} (no {registry} table)")
            continue
        if not newest:
            lines.append(f"{label}: none trained (the registry {registry} is empty)")
            continue
        model_id, trained_at, epoch, passed = newest[0]
        if facts.started is not None and epoch < facts.started:
            lines.append(
                f"{label}: none trained in this run (the newest, {model_id}, "
                f"was trained {_when(trained_at)})"
            )
            continue
        verdict = "passed its gate" if passed else "FAILED its gate"
        lines.append(f"{label} trained: {model_id}, {verdict}")
        mine = [c for c in checks if c["model_kind"] == kind and c["model_id"] == model_id]
        gate = _gate_values(mine) if mine else f"{NA} (no model_gate_checks)"
        lines.append(f"  gate: {gate}")
    return lines


def _trained_at(db: _Reader, kind: str, model_id: str) -> tuple[str, float] | None:
    """(when, epoch seconds) the model was trained, from its registry, or None."""
    if kind not in _KINDS:
        return None
    _, registry, id_column = _KINDS[kind]
    rows = db.rows(
        f"select trained_at, epoch(trained_at) from main.{registry} where {id_column} = ?",
        (model_id,),
        registry,
    )
    return (_when(rows[0][0]), rows[0][1]) if rows else None


def _is_new(trained: tuple[str, float] | None, facts: RunFacts) -> bool:
    """Whether a model trained at ``trained`` (see _trained_at) was trained by this run."""
    return trained is not None and facts.started is not None and trained[1] >= facts.started


def _serving_lines(db: _Reader, facts: RunFacts) -> list[str]:
    """Which model of each kind serves: the one this run trained, or an older one and why."""
    rows = db.rows(
        "select model_kind, serving_model_id, newest_model_id, newest_passed_quality_gate "
        "from main.serving_models order by model_kind",
        (),
        "serving_models",
    )
    if rows is None:
        return [f"Serving: {NA} (no serving_models table)"]
    lines = []
    for kind, serving, newest, newest_passed in rows:
        label = _KINDS[kind][0].lower() if kind in _KINDS else kind
        if serving is None:
            scored = "scores" if kind == "propensity" else "segments"
            lines.append(f"Serving {label}: none yet (no model passed its gate, so no {scored})")
            continue
        trained = _trained_at(db, kind, serving)
        note = f"trained {trained[0]}" if trained else NA
        if facts.command == "build" and _is_new(trained, facts):
            note = "new"
        if newest is not None and newest != serving and not newest_passed:
            if facts.command == "build" and _is_new(_trained_at(db, kind, newest), facts):
                note = f"the previous one, kept: the new {newest} failed its gate"
            else:
                note += f"; the newer {newest} failed its gate"
        lines.append(f"Serving {label}: {serving} ({note})")
    return lines or [f"Serving: {NA}"]


def _quality_line(db: _Reader) -> str:
    rows = db.rows(
        "select table_name, sum(rows_quarantined)::bigint, count(*) "
        "from main.data_quality_issues group by table_name order by 2 desc, table_name",
        (),
        "data_quality_issues",
    )
    if rows is None:
        text = f"Data quality: {NA} (no data_quality_issues table)"
    elif not rows:
        text = "Data quality: no rows quarantined"
    else:
        total = sum(r[1] for r in rows)
        issues = sum(r[2] for r in rows)
        tables = ", ".join(f"{name} {count:,}" for name, count, _ in rows[:MAX_NAMES_SHOWN])
        more = f" and {len(rows) - MAX_NAMES_SHOWN} more" if len(rows) > MAX_NAMES_SHOWN else ""
        text = (
            f"Data quality: {total:,} rows quarantined ({tables}{more}; "
            f"{issues} issue{'s' if issues != 1 else ''} in data_quality_issues)"
        )
    unseen = db.rows(
        "select count(*), coalesce(sum(customers), 0)::bigint from main.unseen_category_values",
        (),
        "unseen_category_values",
    )
    if unseen and unseen[0][0]:
        text += (
            f"; {unseen[0][0]} category values the model never saw "
            f"({unseen[0][1]:,} customers, unseen_category_values)"
        )
    return text


def _failed_steps(statuses: Mapping[str, str]) -> str | None:
    def name(unique_id: str) -> str:
        parts = unique_id.split(".")
        return parts[2] if len(parts) > 2 else unique_id

    failed = [f"{name(u)} ({s})" for u, s in statuses.items() if s in ("error", "fail")]
    skipped = sum(1 for s in statuses.values() if s == "skipped")
    if not failed and not skipped:
        return None
    text = ", ".join(failed[:MAX_NAMES_SHOWN])
    if len(failed) > MAX_NAMES_SHOWN:
        text += f" and {len(failed) - MAX_NAMES_SHOWN} more"
    if skipped:
        text += f"{'; ' if failed else ''}{skipped} step{'s' if skipped != 1 else ''} skipped"
    return text


def _result_lines(facts: RunFacts) -> list[str]:
    failed = _failed_steps(facts.node_statuses)
    what = f"exit {facts.returncode}" + (f": {failed}" if failed else "")
    if facts.kept:
        outcome = "completed" if facts.returncode == 0 else f"completed with failures ({what})"
        return [f"Result: {outcome}; the public tables in {facts.warehouse_path} are this run's"]
    return [
        f"Result: FAILED ({what})",
        f"The public tables in {facts.warehouse_path} were not replaced: they and the "
        "serving models are as before the run",
    ]


def _bi_line(facts: RunFacts) -> str:
    if facts.bi_published is not None:
        return f"BI snapshot: published to {facts.bi_published} (docs/bi.md)"
    where = facts.publish_dir / "current" if facts.publish_dir is not None else None
    if where is not None and (where.is_symlink() or where.exists()):
        return f"BI snapshot: not published by this run; BI tools keep reading {where}"
    return "BI snapshot: not published by this run (none published yet)"


def _history_line(facts: RunFacts) -> str | None:
    """Where customer_features' older dates are, once the daily job has moved some."""
    if facts.history_dir is None:
        return None
    dates = archived_dates(facts.history_dir)
    if not dates:
        return None
    folder = facts.history_dir / "customer_features"
    return (
        f"Feature history: customer_features keeps the last feature_history_days days; "
        f"{len(dates):,} earlier dates ({dates[0]} to {dates[-1]}) are Parquet files in "
        f"{folder} (docs/operations.md)"
    )


def _report_line(facts: RunFacts) -> str:
    return (
        f"Report: segment-and-predict report --warehouse {facts.warehouse_path} "
        f"(writes {REPORT_PATH})"
    )


def _built(facts: RunFacts, node: str) -> bool:
    """Whether this run's rows of ``node`` are in the database summarised."""
    return facts.kept or facts.node_statuses.get(node) == "success"


def _body(db: _Reader, facts: RunFacts) -> list[str]:
    """The lines about what is in the database: date, counts, models, data quality."""
    if db.con is None:
        return [f"Warehouse: {NA} ({db.error})"]
    not_built = f"{NA} (not built by this run)"
    day = _scoring_date(db) if _built(facts, DATES_NODE) else None
    date = not_built if not _built(facts, DATES_NODE) else day if day is not None else NA
    scored = _count_on(db, "propensity_scores", day) if _built(facts, SCORES_NODE) else not_built
    segmented = (
        _count_on(db, "customer_segments", day) if _built(facts, SEGMENTS_NODE) else not_built
    )
    counts = (
        f"Customers scored and segmented: {not_built}"
        if scored == segmented == not_built
        else f"Customers scored (propensity_scores): {scored}; "
        f"segmented (customer_segments): {segmented}"
    )
    lines = [f"Scoring date: {date}", counts]
    if facts.command == "build":
        lines += _trained_lines(db, facts)
    if facts.kept:
        lines += _serving_lines(db, facts)
    if _built(facts, QUALITY_NODE):
        lines.append(_quality_line(db))
    return lines


def summary_lines(facts: RunFacts) -> list[str]:
    """The summary of a finished ``build`` or ``daily`` run, as lines of plain text."""
    title = "build" if facts.command == "build" else "daily run (no retraining)"
    lines = [f"Summary of this {title}:", *_result_lines(facts)]
    if facts.kept:
        source = facts.warehouse_path
    else:
        source = facts.failed_copy
        if source is None:
            lines.append("What the run built was not kept (it left no copy to inspect)")
        else:
            lines.append(f"What the run built, not kept (in {source}):")
    if facts.kept or source is not None:
        import duckdb

        db = _Reader(source)
        try:
            body = _body(db, facts)
        except duckdb.Error as exc:  # e.g. a file damaged meanwhile: the run's outcome stands
            body = [f"Warehouse: {NA} ({str(exc).splitlines()[0]})"]
        finally:
            db.close()
        indent = "" if facts.kept else "  "
        lines += [indent + line for line in body]
    lines.append(_bi_line(facts))
    history = _history_line(facts)
    if history is not None:
        lines.append(history)
    lines.append(_report_line(facts))
    return lines
