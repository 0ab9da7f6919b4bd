"""What the daily job leaves out, and why that is safe.

The daily job (`segment-and-predict daily`) skips the staging tests tagged
``implied_by_quarantine``: macros/quarantine.sql removes every row that would
break them, so they can only fail if the macro is wrong, which the full build
and CI test. This file proves, from the two YAML files, that each tagged test
really is implied by a quarantine rule of its raw table, and that the daily job
selects exactly what it says.
"""

from __future__ import annotations

import duckdb
import pytest
import yaml
from dbt_helpers import REPO_ROOT

from segment_and_predict.dbt import jobs

TAG = "implied_by_quarantine"


def _yaml(relative: str) -> dict:
    return yaml.safe_load((REPO_ROOT / relative).read_text())


RAW_SOURCE = _yaml("models/staging/_raw__sources.yml")["sources"][0]
RAW_TABLES = {t["name"]: t for t in RAW_SOURCE["tables"]}
STAGING = {m["name"]: m for m in _yaml("models/staging/_staging__models.yml")["models"]}


def _tests(entries) -> list[tuple[str, dict]]:
    """(test name, its settings) of a YAML data_tests list."""
    out = []
    for entry in entries or []:
        if isinstance(entry, str):
            out.append((entry, {}))
        else:
            ((name, settings),) = entry.items()
            out.append((name, settings or {}))
    return out


def _tagged_tests() -> list[tuple[str, str | None, str, dict]]:
    """(staging model, column or None, test name, settings) of every tagged test."""
    found = []
    for model_name, model in STAGING.items():
        for name, settings in _tests(model.get("data_tests")):
            found.append((model_name, None, name, settings))
        for column in model.get("columns", []):
            for name, settings in _tests(column.get("data_tests")):
                found.append((model_name, column["name"], name, settings))
    return [t for t in found if TAG in (t[3].get("config", {}).get("tags", []))]


def _valid_when(meta: dict) -> str | None:
    check = meta.get("quarantine_unless")
    return check["valid_when"] if check else None


def _kept(valid_when: str, column: str, value: str) -> bool:
    """Whether the quarantine keeps a row whose column holds value (SQL literal)."""
    query = f"select coalesce({valid_when}, false) from (select {value} as {column})"
    # its own connection: DuckDB's default one is shared with other test modules
    # (one left with an unfinished fetchone() result refuses further queries)
    with duckdb.connect() as con:
        return bool(con.sql(query).fetchall()[0][0])


def _implied(model_name: str, column: str | None, test: str, settings: dict) -> str | None:
    """None when the quarantine implies the test, else why not."""
    table = RAW_TABLES.get(model_name.removeprefix("stg_"))
    if table is None:
        return f"{model_name} is not the staging view of a raw table"
    meta = table.get("meta", {})
    key = meta.get("primary_key", [])
    foreign = {fk["column"]: fk["table"] for fk in meta.get("foreign_keys", [])}
    columns = {c["name"]: c.get("meta", {}) for c in table["columns"]}
    arguments = settings.get("arguments", {})
    if test == "not_null":
        if column in key or column in foreign or column == meta.get("event_time"):
            return None  # rule missing_value
        rule = _valid_when(columns.get(column, {}))
        if rule and not _kept(rule, column, "null"):
            return None  # its quarantine_unless rule fails on null
        return f"no rule quarantines a null {column}"
    if test == "unique":
        return None if key == [column] else f"{column} is not the primary key {key}"
    if test == "unique_combination_of_columns":
        combination = arguments.get("combination_of_columns", [])
        return None if sorted(combination) == sorted(key) else f"{combination} is not {key}"
    if test == "relationships":
        parent = arguments.get("to", "")
        is_rule = foreign.get(column) and parent == f"ref('stg_{foreign[column]}')"
        if is_rule and arguments.get("field") == column:
            return None  # rule unknown_<parent>
        return f"{column} -> {parent} is not a foreign key rule"
    if test == "accepted_range":
        rule = _valid_when(columns.get(column, {}))
        if rule is None:
            return f"{column} has no quarantine_unless rule"
        low, high = arguments.get("min_value"), arguments.get("max_value")
        inclusive = arguments.get("inclusive", True)
        # every kept value, probed around the bounds, must pass the range test
        probes = [-1e9, 1e9]
        for bound in (low, high):
            if bound is not None:
                probes += [bound - 1, bound - 1e-9, bound, bound + 1e-9, bound + 1]
        for value in probes:
            if not _kept(rule, column, f"cast({value!r} as double)"):
                continue
            below = low is not None and (value < low if inclusive else value <= low)
            above = high is not None and (value > high if inclusive else value >= high)
            if below or above:
                return f"{column} = {value} is kept by '{rule}' but fails the range"
        return None
    return f"no quarantine rule implies a {test} test"


TAGGED = _tagged_tests()


def test_some_staging_tests_are_tagged():
    assert len(TAGGED) >= 20, TAGGED


@pytest.mark.parametrize(
    ("model_name", "column", "test", "settings"),
    [pytest.param(*t, id=f"{t[0]}.{t[1] or '-'}.{t[2]}") for t in TAGGED],
)
def test_each_skipped_test_is_implied_by_a_quarantine_rule(model_name, column, test, settings):
    assert _implied(model_name, column, test, settings) is None


@pytest.mark.parametrize(
    ("model_name", "column", "test", "settings", "why"),
    [
        ("stg_sessions", "session_channel", "accepted_values", {}, "no quarantine rule"),
        ("stg_email_subscription_changes", "is_subscribed", "not_null", {}, "no rule"),
        ("stg_orders", "order_total", "accepted_range", {"arguments": {"min_value": -5}}, None),
        (
            "stg_orders",
            "discount_amount",
            "accepted_range",
            {"arguments": {"min_value": 1}},
            "kept by",
        ),
        ("stg_orders", "ordered_at", "unique", {}, "not the primary key"),
        (
            "stg_returns",
            "customer_id",
            "relationships",
            {"arguments": {"to": "ref('stg_orders')", "field": "customer_id"}},
            "not a foreign key rule",
        ),
    ],
)
def test_the_implication_check_can_fail(model_name, column, test, settings, why):
    # The check above is only worth something if it rejects tests the
    # quarantine does not imply (and accepts a weaker range than the rule).
    result = _implied(model_name, column, test, settings)
    if why is None:
        assert result is None
    else:
        assert result is not None and why in result


def test_the_daily_job_skips_the_tagged_tests_only(monkeypatch):
    calls = []
    monkeypatch.setattr(jobs, "run_dbt", lambda args, *a, **k: calls.append(args))
    jobs.daily_build(jobs.Warehouse.from_paths(REPO_ROOT, REPO_ROOT, REPO_ROOT / "w.duckdb"))
    (args,) = calls
    excluded = args[args.index("--exclude") + 1 : args.index("--exclude-resource-type")]
    assert excluded == ["tag:training", f"tag:{TAG}"]
