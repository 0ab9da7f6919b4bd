"""The working copy a job builds on: a compacted copy when the file is mostly free.

DuckDB reuses a file's free blocks but never gives them back, and a job copies
the warehouse before dbt starts (segment_and_predict.dbt.jobs). When at least
COMPACT_FREE_SHARE of the file is free, the job writes only the blocks in use
(COPY FROM DATABASE); the copy must hold everything the byte copy holds.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from segment_and_predict.dbt import jobs

# What the catalog of a database says, by kind, without its name (the copy's file
# has another name) and object ids.
CATALOG_QUERIES = {
    "schemas": "select database_name, schema_name, comment, tags from duckdb_schemas()",
    "tables": (
        "select database_name, schema_name, table_name, comment, tags, has_primary_key, "
        "column_count, sql from duckdb_tables()"
    ),
    "columns": (
        "select database_name, schema_name, table_name, column_name, column_index, data_type, "
        "comment, is_nullable, column_default from duckdb_columns()"
    ),
    "views": (
        "select database_name, schema_name, view_name, comment, sql from duckdb_views() "
        "where not internal"
    ),
    "constraints": (
        "select database_name, schema_name, table_name, constraint_type, constraint_text, "
        "expression from duckdb_constraints()"
    ),
    "types": (
        "select database_name, schema_name, type_name, logical_type from duckdb_types() "
        "where not internal"
    ),
    "macros": (
        "select database_name, schema_name, function_name, macro_definition "
        "from duckdb_functions() where not internal"
    ),
    "sequences": (
        "select database_name, schema_name, sequence_name, start_value, increment_by, "
        "last_value from duckdb_sequences()"
    ),
}


def describe(path: Path) -> dict[str, object]:
    """Every catalog entry of the database, and each table's rows (count and hash)."""
    with duckdb.connect(str(path), read_only=True) as con:
        name = con.execute("select current_database()").fetchone()[0]
        description: dict[str, object] = {
            kind: con.execute(
                f"select * exclude (database_name) from ({query}) "
                f"where database_name = '{name}' order by all"
            ).fetchall()
            for kind, query in CATALOG_QUERIES.items()
        }
        tables = con.execute(
            f"select schema_name, table_name from duckdb_tables() where database_name = '{name}'"
        ).fetchall()
        description["rows"] = {
            (schema, table): con.execute(
                f'select count(*), sum(hash(t)) from (select * from "{schema}"."{table}") t'
            ).fetchone()
            for schema, table in tables
        }
    return description


def mostly_free_warehouse(path: Path) -> None:
    """A small warehouse of every kind of object, 90% of whose blocks are free."""
    with duckdb.connect(str(path)) as con:
        con.execute("""
            create schema main_marts;
            create type mood as enum ('sad', 'ok', 'happy');
            create sequence order_ids start 5;
            create table main_marts.scores (
                customer_id integer not null primary key,
                amount decimal(18, 4),
                scored_at timestamp,
                reasons varchar[],
                detail struct(rank integer, why varchar),
                mood mood,
                probability double default 0.5,
                as_of_date date
            );
            comment on table main_marts.scores is 'scores, one row per customer';
            comment on column main_marts.scores.amount is 'it''s the amount';
            insert into main_marts.scores
            select
                i, i / 7, timestamp '2026-01-01' + to_seconds(i), ['x', null],
                {'rank': i, 'why': 'é'}, 'ok', i * 0.1, date '2026-11-01'
            from range(5000) r (i);
            create view main_marts.top_scores as
            select customer_id, amount from main_marts.scores where probability > 0.3;
            comment on view main_marts.top_scores is 'the view';
            create macro twice(x) as x * 2;
            select nextval('order_ids') from range(3);
            create table freed as select i, md5(i::varchar) as h from range(2000000) r (i);
            checkpoint;
            drop table freed;
            checkpoint;
        """)


@pytest.fixture
def always_compact(monkeypatch):
    monkeypatch.setattr(jobs, "COMPACT_MIN_BYTES", 0)


def test_a_mostly_free_file_is_compacted_with_everything_kept(tmp_path, always_compact):
    original, work = tmp_path / "wh.duckdb", tmp_path / "wh.duckdb.run.duckdb"
    mostly_free_warehouse(original)
    before = describe(original)
    assert jobs.compact_copy(original, work)
    # its connection is closed (what it cached is not held through the dbt run):
    # another process can open the warehouse to write
    writer = subprocess.run(
        [sys.executable, "-c", f"import duckdb; duckdb.connect({str(original)!r}).close()"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert writer.returncode == 0, writer.stderr
    assert work.stat().st_size < original.stat().st_size / 5
    copied = describe(work)
    for kind in before:
        assert copied[kind] == before[kind], kind
    assert len(before["rows"]) == 1 and before["views"] and before["types"]
    assert "it's the amount" in [column[5] for column in before["columns"]]
    assert describe(original) == before
    with duckdb.connect(str(work)) as con:
        assert con.execute("select nextval('order_ids'), twice(3)").fetchone() == (8, 6)


def test_a_file_mostly_in_use_is_left_to_the_byte_copy(tmp_path, always_compact):
    original, work = tmp_path / "wh.duckdb", tmp_path / "wh.duckdb.run.duckdb"
    with duckdb.connect(str(original)) as con:
        con.execute("create table t as select i from range(1000000) r (i)")
    assert not jobs.compact_copy(original, work)
    assert not work.exists()


def test_a_small_file_is_left_to_the_byte_copy(tmp_path):
    original, work = tmp_path / "wh.duckdb", tmp_path / "wh.duckdb.run.duckdb"
    mostly_free_warehouse(original)
    assert original.stat().st_size < jobs.COMPACT_MIN_BYTES
    assert not jobs.compact_copy(original, work)
    assert not work.exists()


def test_a_file_duckdb_cannot_open_is_left_to_the_byte_copy(tmp_path, always_compact):
    # the byte copy then runs and dbt says what is wrong with the file in its own words
    original, work = tmp_path / "wh.duckdb", tmp_path / "wh.duckdb.run.duckdb"
    original.write_bytes(b"not a database" * 1000)
    assert not jobs.compact_copy(original, work)
    assert not work.exists()


def test_a_folder_with_quotes_is_compacted(tmp_path, always_compact):
    folder = tmp_path / 'it\'s "a" [1] é'
    folder.mkdir()
    original, work = folder / "wh.duckdb", folder / "wh.duckdb.run.duckdb"
    mostly_free_warehouse(original)
    assert jobs.compact_copy(original, work)
    assert describe(work)["rows"] == describe(original)["rows"]


def test_the_compacting_copy_keeps_to_the_users_duckdb_settings(tmp_path, always_compact):
    original, work = tmp_path / "wh.duckdb", tmp_path / "wh.duckdb.run.duckdb"
    mostly_free_warehouse(original)
    with pytest.raises(duckdb.Error):  # the settings reach DuckDB: a bad one is refused
        duckdb.connect(config={"memory_limit": "lots"})
    assert not jobs.compact_copy(original, work, {"SAP_DUCKDB_MEMORY_LIMIT": "lots"})
    assert not work.exists()
    assert jobs.compact_copy(
        original, work, {"SAP_DUCKDB_MEMORY_LIMIT": "64MB", "SAP_DUCKDB_THREADS": "1"}
    )
    assert describe(work)["rows"] == describe(original)["rows"]
