"""An export as it stood on the morning of a date: every row that arrived before it.

Used by the whole-pipeline as-of proof (tests/support/as_of_proof.py: a build cut at
a date equals a build as of that date) and by the benchmark's run of consecutive
days (``scripts/benchmark.py --days``: the export growing by one day at a time).
A row arrived at its table's event time (``meta.event_time`` of its dbt source,
:attr:`contract.Table.event_time`); the tables in :func:`_cut_query` have rows that
arrive otherwise, or later timestamps that are not known yet on that morning.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .contract import TABLES, TABLES_BY_NAME
from .raw_files import duckdb_literal_path, raw_table_files

# The tables whose latest event dates the data (int_snapshot_dates: the default
# scoring date is the day after it).
DATED_TABLES = ("orders", "sessions", "marketing_messages", "support_tickets", "returns")


def _read(source: Path, table: str) -> str:
    files = raw_table_files(str(source), table).files
    paths = ", ".join(f"'{duckdb_literal_path(f)}'" for f in files)
    return f"read_parquet([{paths}])"


def _cut_query(table: str, source: Path, cut: str) -> str:
    c = f"timestamp '{cut} 00:00:00'"
    t = _read(source, table)
    special = {
        # a line arrives with its order
        "order_lines": (
            f"select * from {t} where order_id in "
            f"(select order_id from {_read(source, 'orders')} where ordered_at < {c})"
        ),
        # an open or click at or after the cut has not happened yet
        "marketing_messages": f"""
            select * replace (
                case when opened_at < {c} then opened_at end as opened_at,
                case when clicked_at < {c} then clicked_at end as clicked_at
            )
            from {t} where sent_at < {c}""",
        # neither has a resolution (nor its satisfaction score)
        "support_tickets": f"""
            select * replace (
                case when resolved_at < {c} then resolved_at end as resolved_at,
                case when resolved_at < {c} then csat_score end as csat_score
            )
            from {t} where opened_at < {c}""",
    }
    if table in special:
        return special[table]
    return f"select * from {t} where {TABLES_BY_NAME[table].event_time} < {c}"


def cut_export(source: Path, target: Path, cut: str) -> dict[str, tuple[int, int]]:
    """Write to ``target`` (a new or empty folder) the export ``source`` without any row
    that arrived at or after ``cut`` (YYYY-MM-DD), one ``<table>.parquet`` per table.

    Returns {table: (rows before, rows after)}, so a caller can check the cut removed
    something. An absent table stays absent; an empty one is copied as it is.
    """
    import duckdb

    dt.date.fromisoformat(cut)  # a malformed date fails here, not inside the SQL
    target.mkdir(parents=True, exist_ok=True)
    counts = {}
    with duckdb.connect() as con:
        for table in TABLES:
            if not raw_table_files(str(source), table.name).files:
                continue
            t = _read(source, table.name)
            before = con.execute(f"select count(*) from {t}").fetchall()[0][0]
            query = _cut_query(table.name, source, cut) if before else f"select * from {t}"
            out = target / f"{table.name}.parquet"
            con.execute(f"copy ({query}) to '{duckdb_literal_path(str(out))}' (format parquet)")
            after = con.execute(f"select count(*) from read_parquet('{out}')").fetchall()[0][0]
            counts[table.name] = (before, after)
    return counts


def last_event_date(source: Path) -> dt.date:
    """The date of the latest event in the export (its default scoring date is the next day)."""
    import duckdb

    parts = [
        f"select max({TABLES_BY_NAME[t].event_time}) as latest_at from {_read(source, t)}"
        for t in DATED_TABLES
        if raw_table_files(str(source), t).files
    ]
    with duckdb.connect() as con:
        query = f"select max(latest_at) from ({' union all '.join(parts)})"
        (latest,) = con.execute(query).fetchone()
    return latest.date()
