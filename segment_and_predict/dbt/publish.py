"""The published snapshot BI tools read instead of the warehouse (docs/bi.md).

After a successful build, every public table (schema ``main`` of the
warehouse) is written to a folder beside the warehouse::

    <publish dir>/current -> snapshots/<id>          swapped by one rename
    <publish dir>/snapshots/<id>/segment_and_predict.duckdb   views, DuckDB 1.x storage
    <publish dir>/snapshots/<id>/parquet/<table>.parquet
    <publish dir>/snapshots/<id>/parquet/<table>/as_of_date=<date>/data.parquet

Why this shape:

- DuckDB 2.0 files cannot be opened by DuckDB 1.x, and any open connection
  holds a lock that makes the daily job fail. Readers therefore never open the
  warehouse; they open files the job writes once and never changes.
- A new snapshot is written into its own folder and becomes visible when the
  ``current`` link is replaced by rename, which is atomic: a reader sees the
  previous snapshot or the new one, never a mix or a half-written file. A reader
  that holds files of the previous snapshot open keeps reading them.
- History tables are partitioned by ``as_of_date``. A partition (or table)
  whose content is unchanged since the previous snapshot is hard-linked, not
  rewritten, so a day's publish writes the new day's partition and the small
  tables, not the whole history.
- The DuckDB file holds only views over the snapshot's own Parquet files (by
  absolute path), so it stays small and is written in a storage version that
  DuckDB 1.x reads.

:func:`publish_snapshot` takes any DuckDB connection on which the warehouse's
``main`` schema is the current database: the dbt model ``bi_snapshot`` passes
its session, :func:`publish_warehouse` opens a warehouse file read-only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from segment_and_predict.data.raw_files import duckdb_literal_path

PUBLIC_SCHEMA = "main"
# History tables (customer x as_of_date) are written one Parquet file per date.
PARTITIONED_TABLES = {
    "customer_features": "as_of_date",
    "customer_segments": "as_of_date",
    "propensity_scores": "as_of_date",
}
DUCKDB_FILE_NAME = "segment_and_predict.duckdb"
# The oldest storage version DuckDB 2.0 writes that DuckDB 1.4 and later read.
STORAGE_VERSION = "v1.4.0"
MANIFEST_NAME = "manifest.json"
# Snapshots kept besides the current one, for readers still connected to them.
KEEP_PREVIOUS = 2
PUBLISH_DIR_ENV = "SAP_PUBLISH_DIR"
# Test hook: seconds to sleep after the first Parquet file of a new snapshot is
# written, so a test can kill the job in the middle of the publish step.
PAUSE_ENV = "SAP_PUBLISH_PAUSE_SECONDS"


class PublishError(RuntimeError):
    """The snapshot could not be published; the previous one stays current."""


@dataclass(frozen=True)
class PublishedTable:
    """One table of a published snapshot."""

    name: str
    row_count: int
    partition_column: str | None
    partitions: int


@dataclass(frozen=True)
class PublishResult:
    snapshot_dir: Path
    tables: list[PublishedTable]
    written_files: int
    linked_files: int
    seconds: float
    changed: bool


def default_publish_dir(warehouse_path: str | os.PathLike[str]) -> Path:
    """``warehouse/segment_and_predict.duckdb`` -> ``warehouse/segment_and_predict_bi``."""
    path = Path(warehouse_path)
    return path.with_name(path.stem + "_bi")


def publish_dir_for(
    warehouse_path: str | os.PathLike[str], environ: Mapping[str, str] = os.environ
) -> Path:
    """$SAP_PUBLISH_DIR of ``environ`` when set (a relative one from this process's
    folder), else the folder beside the warehouse."""
    configured = environ.get(PUBLISH_DIR_ENV)
    return Path(configured).absolute() if configured else default_publish_dir(warehouse_path)


def current_snapshot(publish_dir: str | os.PathLike[str]) -> Path | None:
    """The folder ``<publish dir>/current`` points at, or None before the first publish."""
    link = Path(publish_dir) / "current"
    if not link.is_symlink() and not link.exists():
        return None
    return link.resolve()


def read_manifest(snapshot_dir: str | os.PathLike[str]) -> dict:
    return json.loads((Path(snapshot_dir) / MANIFEST_NAME).read_text(encoding="utf-8"))


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _public_tables(con) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = current_database() and table_schema = ? "
        "and table_name not like '%__dbt_tmp%' order by table_name",
        [PUBLIC_SCHEMA],
    ).fetchall()
    return [row[0] for row in rows]


def _columns(con, table: str) -> list[tuple[str, str]]:
    return [
        (row[0], row[1])
        for row in con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_catalog = current_database() and table_schema = ? and table_name = ? "
            "order by ordinal_position",
            [PUBLIC_SCHEMA, table],
        ).fetchall()
    ]


def _checksums(
    con, table: str, partition_column: str | None, only: Collection[str] | None = None
) -> dict[str, list]:
    """{partition value or '': [rows, content hash]}: what decides whether to rewrite a file.

    ``only``: hash just these partitions (YYYY-MM-DD), not the whole history.
    """
    source = f"{PUBLIC_SCHEMA}.{quote_ident(table)} as t"
    if partition_column is None:
        rows = con.execute(
            f"select '', count(*), coalesce(sum(hash(t)), 0)::varchar from {source}"
        ).fetchall()
    else:
        column = quote_ident(partition_column)
        where = ""
        if only is not None:
            if not only:
                return {}
            where = f" where {column} in ({', '.join(f'date {quote_literal(k)}' for k in only)})"
        rows = con.execute(
            f"select strftime({column}, '%Y-%m-%d'), count(*), sum(hash(t))::varchar "
            f"from {source}{where} group by all order by 1"
        ).fetchall()
    return {key: [int(count), digest] for key, count, digest in rows}


def _partition_checksums(
    con, table: str, partition_column: str, rebuilt: set[str], previous_plan: dict | None
) -> dict[str, list]:
    """The checksums of a history table, hashing only what this run may have changed.

    A partition of a date the run did not rebuild, whose row count and columns are
    those of the previous snapshot, keeps the previous checksum (its file is linked);
    the rebuilt dates, and any partition whose count or columns differ, are hashed.
    """
    column = quote_ident(partition_column)
    counts = dict(
        con.execute(
            f"select strftime(day, '%Y-%m-%d'), rows from (select {column} as day, "
            f"count(*) as rows from {PUBLIC_SCHEMA}.{quote_ident(table)} group by all)"
        ).fetchall()
    )
    previous = (previous_plan or {}).get("checksums", {})
    kept = {
        key: previous[key]
        for key, count in counts.items()
        if key not in rebuilt and key in previous and previous[key][0] == count
    }
    hashed = _checksums(con, table, partition_column, only=sorted(set(counts) - set(kept)))
    return dict(sorted({**kept, **hashed}.items()))


def _table_plan(
    con, table: str, rebuilt: set[str] | None = None, previous_plan: dict | None = None
) -> dict:
    partition_column = PARTITIONED_TABLES.get(table)
    columns = [[name, data_type] for name, data_type in _columns(con, table)]
    if partition_column is not None and partition_column not in {c for c, _ in columns}:
        raise PublishError(
            f"The public table {table} has no column {partition_column}, by which its "
            "history is published. Add the column back, or remove the table from "
            "PARTITIONED_TABLES in segment_and_predict/dbt/publish.py."
        )
    if (
        partition_column is not None
        and rebuilt is not None
        and previous_plan is not None
        and previous_plan.get("columns") == columns
        and previous_plan.get("partition_column") == partition_column
    ):
        checksums = _partition_checksums(con, table, partition_column, rebuilt, previous_plan)
    else:
        checksums = _checksums(con, table, partition_column)
    return {"partition_column": partition_column, "columns": columns, "checksums": checksums}


# Types Parquet has no exact equivalent for: DuckDB would write them as DOUBLE.
# They are written as DECIMAL(38,0) (exact), and the DuckDB file's views cast
# them back, so its readers see the warehouse's types.
_EXACT_PARQUET_TYPES = {"HUGEINT": "DECIMAL(38,0)", "UHUGEINT": "DECIMAL(38,0)"}


def _select_for_parquet(columns: list[list[str]], partition_column: str | None) -> str:
    parts = []
    for name, data_type in columns:
        if name == partition_column:
            continue
        exact = _EXACT_PARQUET_TYPES.get(data_type)
        quoted = quote_ident(name)
        parts.append(f"cast({quoted} as {exact}) as {quoted}" if exact else quoted)
    return ", ".join(parts)


def _select_for_view(columns: list[list[str]]) -> str:
    return ", ".join(
        f"cast({quote_ident(c)} as {t}) as {quote_ident(c)}"
        if t in _EXACT_PARQUET_TYPES
        else quote_ident(c)
        for c, t in columns
    )


def _relative_file(table: str, partition_column: str | None, key: str) -> str:
    if partition_column is None:
        return f"parquet/{table}.parquet"
    return f"parquet/{table}/{partition_column}={key}/data.parquet"


def _snapshot_id(plans: dict[str, dict]) -> str:
    digest = hashlib.sha256(json.dumps(plans, sort_keys=True).encode()).hexdigest()[:12]
    dates = [
        key for plan in plans.values() if plan["partition_column"] for key in plan["checksums"]
    ]
    return f"{max(dates) if dates else 'undated'}_{digest}"


def _view_sql(snapshot_dir: Path, table: str, plan: dict) -> str:
    columns = plan["columns"]
    partition_column = plan["partition_column"]
    if partition_column is not None and not plan["checksums"]:
        # No rows: no partition files to read, so the view is an empty typed select.
        select = ", ".join(f"cast(null as {t}) as {quote_ident(c)}" for c, t in columns)
        return f"select {select} where false"
    names = _select_for_view(columns)
    # The folder is literal ('bi [1]' is that folder, not the glob 'bi 1'); only
    # the partition wildcards are a pattern.
    if partition_column is None:
        path = duckdb_literal_path(str(snapshot_dir / _relative_file(table, None, "")))
        return f"select {names} from read_parquet({quote_literal(path)})"
    pattern = duckdb_literal_path(str(snapshot_dir / "parquet" / table)) + "/*/*.parquet"
    return (
        f"select {names} from read_parquet({quote_literal(pattern)}, "
        f"hive_partitioning = true, "
        f"hive_types = {{{quote_literal(partition_column)}: 'DATE'}})"
    )


def _write_duckdb_file(snapshot_dir: Path, plans: dict[str, dict]) -> None:
    """The small DuckDB file (views over the Parquet files), in DuckDB 1.x storage.

    Written from a private in-memory DuckDB, so it never touches the caller's
    connection or transaction.
    """
    target = snapshot_dir / DUCKDB_FILE_NAME
    with duckdb.connect() as con:
        con.execute(
            f"attach {quote_literal(str(target))} as published "
            f"(storage_version {quote_literal(STORAGE_VERSION)})"
        )
        for table, plan in plans.items():
            con.execute(
                f"create view published.main.{quote_ident(table)} as "
                + _view_sql(snapshot_dir, table, plan)
            )
        con.execute("detach published")


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _previous_plans(previous: Path | None) -> dict[str, dict]:
    """{table: plan} of the snapshot ``previous`` (its manifest), {} when unreadable."""
    if previous is None:
        return {}
    try:
        return read_manifest(previous).get("tables", {})
    except (OSError, ValueError):
        return {}


def _previous_files(previous: Path | None) -> dict[str, list]:
    """{relative file: [rows, hash]} of the current snapshot, to reuse unchanged files."""
    if previous is None:
        return {}
    files: dict[str, list] = {}
    for table, plan in _previous_plans(previous).items():
        for key, checksum in plan.get("checksums", {}).items():
            relative = _relative_file(table, plan.get("partition_column"), key)
            if (previous / relative).is_file():
                files[relative] = checksum
    return files


def _swap_current(publish_dir: Path, snapshot_dir: Path) -> None:
    link = publish_dir / "current"
    tmp = publish_dir / f".current.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(Path("snapshots") / snapshot_dir.name, target_is_directory=True)
    os.replace(tmp, link)  # rename(2): readers see the old link or the new one


def _prune(publish_dir: Path, keep: Path) -> None:
    """Remove snapshots older than the current one and the KEEP_PREVIOUS before it."""
    snapshots = publish_dir / "snapshots"
    others = [p for p in snapshots.iterdir() if p.is_dir() and p.resolve() != keep.resolve()]
    complete = sorted(
        (p for p in others if (p / MANIFEST_NAME).is_file()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for path in complete[KEEP_PREVIOUS:] + [p for p in others if p not in complete]:
        shutil.rmtree(path, ignore_errors=True)
    for leftover in publish_dir.glob(".current.*"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def _write_snapshot(con, plans: dict[str, dict], snapshot_dir: Path, previous: Path | None):
    """Write the snapshot folder, then make it current; returns (files written, linked)."""
    reusable = _previous_files(previous)
    if snapshot_dir.exists():  # left by an interrupted publish; never the current one
        shutil.rmtree(snapshot_dir)
    (snapshot_dir / "parquet").mkdir(parents=True)
    pause = float(os.environ.get(PAUSE_ENV) or 0)
    written = linked = 0
    for table, plan in plans.items():
        partition_column = plan["partition_column"]
        selected = _select_for_parquet(plan["columns"], partition_column)
        for key, checksum in plan["checksums"].items():
            relative = _relative_file(table, partition_column, key)
            target = snapshot_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if reusable.get(relative) == checksum:
                _link_or_copy(previous / relative, target)
                linked += 1
                continue
            where = (
                ""
                if partition_column is None
                else f" where {quote_ident(partition_column)} = date {quote_literal(key)}"
            )
            con.execute(
                f"copy (select {selected} from {PUBLIC_SCHEMA}.{quote_ident(table)}{where}) "
                f"to {quote_literal(str(target))} (format parquet)"
            ).fetchall()
            written += 1
            if pause and written == 1:
                time.sleep(pause)
    _write_duckdb_file(snapshot_dir, plans)
    manifest = {
        "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "storage_version": STORAGE_VERSION,
        "tables": plans,
    }
    # The manifest is written last: a snapshot folder without one is incomplete.
    (snapshot_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    publish_dir = snapshot_dir.parent.parent
    _swap_current(publish_dir, snapshot_dir)
    _prune(publish_dir, snapshot_dir)
    return written, linked


def publish_snapshot(
    con,
    publish_dir: str | os.PathLike[str],
    rebuilt_dates: Collection[dt.date | str] | None = None,
) -> PublishResult:
    """Publish every table of schema main of ``con``'s current database; swap it in at once.

    Safe to interrupt at any point: until the final rename the previous
    snapshot stays current and untouched, and the next call removes what an
    interrupted one left behind. Publishing unchanged content again changes nothing.

    ``rebuilt_dates``: the only as_of dates whose rows of the history tables
    (:data:`PARTITIONED_TABLES`) can differ from the previous snapshot (the bi_snapshot
    model passes the dates its run built: those tables rebuild whole dates and keep
    the others). The other dates' partitions are then not hashed again when their row
    count and columns are unchanged, so a day's publish reads the day, not the history.
    None hashes everything.
    """
    started = time.perf_counter()
    publish_dir = Path(publish_dir).absolute()
    previous = current_snapshot(publish_dir)
    rebuilt = None if rebuilt_dates is None else {str(d)[:10] for d in rebuilt_dates}
    previous_plans = _previous_plans(previous) if rebuilt is not None else {}
    plans = {
        table: _table_plan(con, table, rebuilt, previous_plans.get(table))
        for table in _public_tables(con)
    }
    if not plans:
        raise PublishError(
            f"There is no table in schema {PUBLIC_SCHEMA} to publish: build the project first."
        )
    snapshot_dir = publish_dir / "snapshots" / _snapshot_id(plans)
    tables = [
        PublishedTable(
            name=table,
            row_count=sum(count for count, _ in plan["checksums"].values()),
            partition_column=plan["partition_column"],
            partitions=len(plan["checksums"]) if plan["partition_column"] else 0,
        )
        for table, plan in plans.items()
    ]
    if previous is not None and previous == snapshot_dir.resolve():
        return PublishResult(snapshot_dir, tables, 0, 0, time.perf_counter() - started, False)

    try:
        written, linked = _write_snapshot(con, plans, snapshot_dir, previous)
    except (OSError, duckdb.IOException) as exc:
        raise PublishError(
            f"Could not write the BI snapshot to {publish_dir}: {exc}. The tables in the "
            "warehouse are built and the previous snapshot is still the one readers see. "
            f"Make the folder writable, or set {PUBLISH_DIR_ENV} to a folder that is, "
            "then run the job again (docs/bi.md)."
        ) from None
    return PublishResult(snapshot_dir, tables, written, linked, time.perf_counter() - started, True)


def publish_warehouse(
    warehouse_path: str | os.PathLike[str], publish_dir: str | os.PathLike[str] | None = None
) -> PublishResult:
    """Publish a built warehouse file (opened read-only) to ``publish_dir``."""
    warehouse_path = Path(warehouse_path)
    if not warehouse_path.is_file():
        raise PublishError(f"There is no warehouse at {warehouse_path}: build the project first.")
    target = Path(publish_dir) if publish_dir is not None else publish_dir_for(warehouse_path)
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        return publish_snapshot(con, target)
