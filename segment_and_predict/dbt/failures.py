"""Sentences for failed dbt data tests, read from the failing test's own result.

dbt reports a failed ``accepted_values`` test by its generated name and a row
count (``FAIL 1 accepted_values_stg_sessions_session_channel__app__web``), which
does not say what was wrong with the data. After a failed job the CLI reads
dbt's ``target/run_results.json`` and ``target/manifest.json``, reruns each
failed accepted_values test's compiled query (read-only, on the warehouse the
job just released) and prints the values it found, with their row counts and
the values allowed.
"""

from __future__ import annotations

import json
from pathlib import Path

from .jobs import Warehouse, dbt_target_dir

MAX_VALUES_SHOWN = 10


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _model_name(node: dict, manifest: dict) -> str:
    attached = node.get("attached_node") or ""
    parent = manifest.get("nodes", {}).get(attached) or {}
    return parent.get("name") or attached.rsplit(".", 1)[-1] or "?"


def _literal(value: object) -> str:
    return "null" if value is None else repr(value) if isinstance(value, str) else str(value)


def explain_failed_tests(warehouse: Warehouse, since: float | None = None) -> list[str]:
    """One sentence per failed accepted_values test of the last dbt run on this project.

    ``since`` (a time.time() value): ignore run results written before it, so a
    run that stopped before writing its own never reports an older run's failures.
    """
    import duckdb

    target = dbt_target_dir(warehouse.project_dir)
    try:
        written = (target / "run_results.json").stat().st_mtime
    except OSError:
        return []
    if since is not None and written < since:
        return []
    results = _load(target / "run_results.json").get("results", [])
    manifest = _load(target / "manifest.json")
    failed = [
        r
        for r in results
        if r.get("status") in ("fail", "warn") and r.get("unique_id", "").startswith("test.")
    ]
    sentences = []
    for result in failed:
        node = manifest.get("nodes", {}).get(result["unique_id"]) or {}
        metadata = node.get("test_metadata") or {}
        if metadata.get("name") != "accepted_values" or not result.get("compiled_code"):
            continue
        kwargs = metadata.get("kwargs") or {}
        column = node.get("column_name") or kwargs.get("column_name") or "?"
        allowed = ", ".join(_literal(v) for v in kwargs.get("values") or [])
        where = f"{_model_name(node, manifest)}.{column}"
        try:
            with duckdb.connect(str(warehouse.warehouse_path), read_only=True) as con:
                rows = con.execute(
                    f"select * from ({result['compiled_code']}) as failing "
                    f"order by 2 desc nulls last limit {MAX_VALUES_SHOWN + 1}"
                ).fetchall()
        except duckdb.Error:
            sentences.append(
                f"The accepted-values test on {where} failed ({result.get('failures')} values "
                f"outside {allowed}); the values could not be read back from the warehouse."
            )
            continue
        shown = [f"{_literal(row[0])} ({row[1]:,} rows)" for row in rows[:MAX_VALUES_SHOWN]]
        more = " and more" if len(rows) > MAX_VALUES_SHOWN else ""
        level = "warned" if result.get("status") == "warn" else "failed"
        sentences.append(
            f"The accepted-values test on {where} {level}: found {', '.join(shown)}{more}; the "
            f"allowed values are {allowed}. Correct these values in the export "
            f"(docs/raw_data_contract.md) and run again."
        )
    return sentences
