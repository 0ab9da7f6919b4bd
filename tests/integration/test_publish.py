"""The published snapshot BI tools read (segment_and_predict/dbt/publish.py, docs/bi.md).

Readers of other DuckDB versions and of Parquet get every public table with the
warehouse's content; readers holding the snapshot open never block the daily
job; a killed publish leaves the previous snapshot whole; a failed run
publishes nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy
from dbt_helpers import REPO_ROOT, assert_dbt_ok

from segment_and_predict.dbt.jobs import Warehouse, daily_build
from segment_and_predict.dbt.publish import (
    DUCKDB_FILE_NAME,
    MANIFEST_NAME,
    PARTITIONED_TABLES,
    PAUSE_ENV,
    PublishError,
    current_snapshot,
    default_publish_dir,
    publish_snapshot,
    publish_warehouse,
    read_manifest,
)

pytestmark = pytest.mark.integration

# A scoring date the session's build has not published (its own is 2026-11-01).
NEW_DATE = "2026-10-25"
DUCKDB14_VENV = REPO_ROOT / ".venv-duckdb14"

# Row count and a digest of the sorted rows of each table (for a history table:
# its latest date), computed in Python from the rows a client returns, so a
# DuckDB 1.4 client and this project's DuckDB 2.0 compute the same figure.
DIGEST_SCRIPT = r"""
import datetime, hashlib, json, sys
import duckdb

def plain(value):
    # Time zones come back as pytz or zoneinfo objects depending on the version.
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(datetime.timezone.utc).isoformat()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value

path, partitioned = sys.argv[1], json.loads(sys.argv[2])
con = duckdb.connect(path, read_only=True)
tables = [r[0] for r in con.execute(
    "select table_name from information_schema.tables "
    "where table_schema = 'main' order by table_name").fetchall()]
out = {}
for t in tables:
    where = ""
    if t in partitioned:
        c = partitioned[t]
        where = f' where "{c}" = (select max("{c}") from main."{t}")'
    rows = con.execute(f'select * from main."{t}"{where}').fetchall()
    digest = hashlib.sha256("\n".join(sorted(repr(plain(r)) for r in rows)).encode()).hexdigest()
    out[t] = [len(rows), digest]
con.close()
print(json.dumps({"version": duckdb.__version__, "tables": out}))
"""


def _digests(python: Path | str, database: Path) -> dict:
    result = subprocess.run(
        [str(python), "-c", DIGEST_SCRIPT, str(database), json.dumps(PARTITIONED_TABLES)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def duckdb14_python() -> Path:
    """A real DuckDB 1.4 client in its own virtualenv (created once, then reused)."""
    python = DUCKDB14_VENV / "bin" / "python"
    check = [
        str(python), "-c", "import duckdb, pytz; assert duckdb.__version__.startswith('1.4')"
    ]  # fmt: skip
    if not python.exists() or subprocess.run(check, capture_output=True).returncode != 0:
        subprocess.run([sys.executable, "-m", "venv", str(DUCKDB14_VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "duckdb==1.4.*",
                "pytz",
            ],
            check=True,
        )
    return python


def _published_file(warehouse: Warehouse) -> Path:
    return default_publish_dir(warehouse.warehouse_path) / "current" / DUCKDB_FILE_NAME


def _private_copy(warehouse: Warehouse, tmp_path: Path) -> Warehouse:
    """A copy of the session's built warehouse with its own published snapshot."""
    target = tmp_path / "wh" / "copy.duckdb"
    target.parent.mkdir()
    shutil.copy2(warehouse.warehouse_path, target)
    copy = Warehouse(warehouse.project_dir, warehouse.raw_data_path, target)
    publish_warehouse(target)
    return copy


def _daily_command(warehouse: Warehouse, as_of_date: str, extra: list[str] = ()) -> list[str]:
    return [
        sys.executable, "-m", "segment_and_predict.cli", "daily",
        "--project-dir", str(warehouse.project_dir),
        "--raw-data-path", str(warehouse.raw_data_path),
        "--warehouse", str(warehouse.warehouse_path),
        "--as-of-date", as_of_date, *extra,
    ]  # fmt: skip


def _snapshot_content(python: Path | str, warehouse: Warehouse) -> dict:
    return _digests(python, _published_file(warehouse))["tables"]


def _tiny_warehouse(path: Path) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute(
            "create table propensity_scores as select 'c' || i as customer_id, "
            "date '2026-11-01' as as_of_date, i / 10 as propensity, "
            "i::hugeint as big_count from range(10) t(i)"
        )
        con.execute("create table segment_profiles as select 1 as segment_id, 'A' as name")
    return path


def test_a_day_writes_its_partition_and_links_the_unchanged_history(tmp_path):
    warehouse = _tiny_warehouse(tmp_path / "tiny.duckdb")
    first = publish_warehouse(warehouse, tmp_path / "bi")
    old_file = first.snapshot_dir / "parquet/propensity_scores/as_of_date=2026-11-01/data.parquet"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into propensity_scores select customer_id, date '2026-11-02', "
            "propensity, big_count from propensity_scores"
        )
    second = publish_warehouse(warehouse, tmp_path / "bi")
    assert (first.written_files, second.written_files, second.linked_files) == (2, 1, 2)
    same_file = second.snapshot_dir / "parquet/propensity_scores/as_of_date=2026-11-01/data.parquet"
    assert os.stat(same_file).st_ino == os.stat(old_file).st_ino
    assert current_snapshot(tmp_path / "bi") == second.snapshot_dir
    assert not publish_warehouse(warehouse, tmp_path / "bi").changed
    with duckdb.connect(str(second.snapshot_dir / DUCKDB_FILE_NAME), read_only=True) as con:
        types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_name = 'propensity_scores'"
            ).fetchall()
        )
    assert types["big_count"] == "HUGEINT" and types["as_of_date"] == "DATE"


def test_a_publish_folder_with_glob_characters_is_read_literally(tmp_path):
    # Before: the views read '<folder>/parquet/<table>/*/*.parquet' as one glob,
    # so a folder named 'bi [1]' matched nothing and the daily job failed.
    warehouse = _tiny_warehouse(tmp_path / "tiny.duckdb")
    published = publish_warehouse(warehouse, tmp_path / "it's bi [1] é")
    with duckdb.connect(str(published.snapshot_dir / DUCKDB_FILE_NAME), read_only=True) as con:
        assert con.execute("select count(*) from propensity_scores").fetchone()[0] == 10
        assert con.execute("select count(*) from segment_profiles").fetchone()[0] == 1


def _publish_rebuilt(warehouse: Path, publish_dir: Path, rebuilt: list[str]):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return publish_snapshot(con, publish_dir, rebuilt_dates=rebuilt)


def test_a_run_hashes_only_the_dates_it_rebuilt_and_publishes_what_a_full_hash_would(tmp_path):
    """The daily job's publish hashes the dates its run built (and any partition whose row
    count or columns changed), not the whole history; its snapshot is the one hashing
    everything would give."""
    warehouse = _tiny_warehouse(tmp_path / "tiny.duckdb")
    bi = tmp_path / "bi"
    publish_warehouse(warehouse, bi)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into propensity_scores select customer_id, date '2026-11-02', "
            "propensity, big_count from propensity_scores"
        )
    day = _publish_rebuilt(warehouse, bi, ["2026-11-02"])
    assert (day.written_files, day.linked_files) == (1, 2)
    assert not publish_warehouse(warehouse, bi).changed  # a full hash finds the same content

    # a date the run did not name but whose row count changed is hashed and rewritten
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "delete from propensity_scores where as_of_date = '2026-11-01' and customer_id = 'c0'"
        )
    shrunk = _publish_rebuilt(warehouse, bi, ["2026-11-02"])
    assert (shrunk.written_files, shrunk.linked_files) == (1, 2)
    assert (
        read_manifest(shrunk.snapshot_dir)["tables"]["propensity_scores"]["checksums"][
            "2026-11-01"
        ][0]
        == 9
    )
    assert not publish_warehouse(warehouse, bi).changed

    # a new column changes every partition: everything is hashed again
    with duckdb.connect(str(warehouse)) as con:
        con.execute("alter table propensity_scores add column reason varchar")
    widened = _publish_rebuilt(warehouse, bi, ["2026-11-02"])
    assert (widened.written_files, widened.linked_files) == (2, 1)
    assert not publish_warehouse(warehouse, bi).changed

    # what is not hashed: a value changed on a date the run did not build, with the
    # same row count, is not read (no dbt run does that: the history tables change
    # only the dates a run built); the full hash sees it
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update propensity_scores set propensity = 0.5 where as_of_date = '2026-11-01'")
    assert not _publish_rebuilt(warehouse, bi, ["2026-11-02"]).changed
    assert publish_warehouse(warehouse, bi).changed


def test_an_unwritable_publish_folder_is_a_plain_error(tmp_path):
    warehouse = _tiny_warehouse(tmp_path / "tiny.duckdb")
    not_a_folder = tmp_path / "bi"
    not_a_folder.write_text("a file where the snapshot folder should be")
    with pytest.raises(PublishError, match="Could not write the BI snapshot to .* SAP_PUBLISH_DIR"):
        publish_warehouse(warehouse, not_a_folder)


def test_bi_snapshot_refs_every_public_table(built_warehouse):
    code = (REPO_ROOT / "python_models" / "publishing" / "bi_snapshot.py").read_text()
    refs = sorted(re.findall(r'dbt\.ref\("([a-z_0-9]+)"\)', code))
    with duckdb.connect(str(built_warehouse.warehouse_path), read_only=True) as con:
        public = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'main' order by table_name"
            ).fetchall()
        ]
    # model_gate_checks is the leaf the gate tests run on: a failed gate must not
    # skip the publish (the day's tables are consistent and published,
    # docs/operations.md), so bi_snapshot does not depend on it; it is still
    # published with the rest of schema main.
    public = [name for name in public if name != "model_gate_checks"]
    # int_snapshot_dates (not public): the dates the run built, the only ones whose
    # partitions are hashed again
    refs.remove("int_snapshot_dates")
    missing, extra = sorted(set(public) - set(refs)), sorted(set(refs) - set(public))
    assert refs == public, (
        "bi_snapshot must ref every table of schema main, so that it publishes after all "
        f"of them: missing {missing}, extra {extra}"
    )


def test_duckdb_14_reads_every_published_table_as_in_the_warehouse(
    built_warehouse, duckdb14_python
):
    published = _published_file(built_warehouse)
    assert published.is_file(), "the full build published no snapshot"
    old = _digests(duckdb14_python, published)
    new = _digests(sys.executable, built_warehouse.warehouse_path)
    assert old["version"].startswith("1.4") and new["version"].startswith("2.")
    assert sorted(old["tables"]) == sorted(new["tables"])
    for table, figures in new["tables"].items():
        assert old["tables"][table] == figures, f"published {table} differs from the warehouse"
    assert new["tables"]["propensity_scores"][0] > 0


def test_pyarrow_and_sqlalchemy_read_the_published_parquet(built_warehouse):
    snapshot = current_snapshot(default_publish_dir(built_warehouse.warehouse_path))
    manifest = json.loads((snapshot / MANIFEST_NAME).read_text())
    with duckdb.connect(str(built_warehouse.warehouse_path), read_only=True) as con:
        counts = {
            t: con.execute(f'select count(*) from main."{t}"').fetchall()[0][0]
            for t in manifest["tables"]
        }
        scores = con.execute(
            "select customer_id, propensity, model_id from main.propensity_scores"
        ).df()
    for table, rows in counts.items():
        path = snapshot / "parquet" / (table if table in PARTITIONED_TABLES else f"{table}.parquet")
        assert pq.read_table(path).num_rows == rows, table
    # Superset's way: SQLAlchemy with duckdb-engine, pandas.read_sql.
    engine = sqlalchemy.create_engine("duckdb:///:memory:")
    pattern = snapshot / "parquet" / "propensity_scores" / "*" / "*.parquet"
    via_parquet = pd.read_sql(
        "select customer_id, propensity, model_id, as_of_date from read_parquet("
        f"'{pattern}', hive_partitioning = true)",
        engine,
    )
    assert len(via_parquet) == len(scores)
    merged = scores.merge(via_parquet, on="customer_id", suffixes=("", "_published"))
    assert len(merged) == len(scores)
    assert (merged["propensity"] == merged["propensity_published"]).all()
    assert (merged["model_id"] == merged["model_id_published"]).all()
    file_engine = sqlalchemy.create_engine(
        f"duckdb:///{snapshot / DUCKDB_FILE_NAME}", connect_args={"read_only": True}
    )
    assert (
        pd.read_sql("select count(*) as n from customer_segments", file_engine)["n"][0]
        == (counts["customer_segments"])
    )
    engine.dispose()
    file_engine.dispose()


def test_open_readers_never_block_the_daily_job(built_warehouse, tmp_path):
    warehouse = _private_copy(built_warehouse, tmp_path)
    current = default_publish_dir(warehouse.warehouse_path) / "current"
    reader = duckdb.connect(str(current / DUCKDB_FILE_NAME), read_only=True)
    parquet_reader = duckdb.connect()
    parquet_glob = current / "parquet" / "propensity_scores" / "*" / "*.parquet"
    held_file = open(  # noqa: SIM115  a reader holding a Parquet file open across the run
        next((current / "parquet" / "propensity_scores").glob("*/*.parquet")), "rb"
    )
    held_rows = pq.ParquetFile(held_file).metadata.num_rows
    latest = "select max(as_of_date)::varchar from propensity_scores"
    assert reader.execute(latest).fetchall()[0][0] == "2026-11-01"

    job = subprocess.Popen(
        _daily_command(warehouse, NEW_DATE), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    answered = 0
    while job.poll() is None:
        assert reader.execute("select count(*) from customer_segments").fetchall()[0][0] > 0
        assert (
            parquet_reader.execute(
                f"select count(*) from read_parquet('{parquet_glob}')"
            ).fetchall()[0][0]
            > 0
        )
        answered += 1
        time.sleep(0.2)
    output = job.stdout.read()
    assert job.returncode == 0, output[-6000:]
    assert answered > 10
    # The open connection keeps its snapshot; the held file keeps its content.
    assert reader.execute(latest).fetchall()[0][0] == "2026-11-01"
    assert pq.ParquetFile(held_file).metadata.num_rows == held_rows
    held_file.close()
    reader.close()
    with duckdb.connect(str(current / DUCKDB_FILE_NAME), read_only=True) as again:
        dates = again.execute(
            "select distinct as_of_date::varchar from propensity_scores order by 1"
        ).fetchall()
    assert [d for (d,) in dates] == [NEW_DATE, "2026-11-01"]
    assert (
        parquet_reader.execute(
            f"select count(distinct as_of_date) from read_parquet('{parquet_glob}', "
            "hive_partitioning = true)"
        ).fetchall()[0][0]
        == 2
    )
    parquet_reader.close()


def test_a_kill_during_publish_leaves_the_previous_snapshot_whole(built_warehouse, tmp_path):
    warehouse = _private_copy(built_warehouse, tmp_path)
    publish_dir = default_publish_dir(warehouse.warehouse_path)
    before = current_snapshot(publish_dir)
    content_before = _snapshot_content(sys.executable, warehouse)

    job = subprocess.Popen(
        _daily_command(warehouse, NEW_DATE),
        env={**os.environ, PAUSE_ENV: "600"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 900
    partial = []
    while not partial:
        assert job.poll() is None, "the daily run ended before its publish step"
        assert time.monotonic() < deadline, "the publish step never started"
        partial = [
            p for p in (publish_dir / "snapshots").iterdir()
            if p != before and any(p.glob("parquet/**/*.parquet"))
        ]  # fmt: skip
        time.sleep(0.2)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()

    assert current_snapshot(publish_dir) == before
    assert not (partial[0] / MANIFEST_NAME).exists()
    assert _snapshot_content(sys.executable, warehouse) == content_before

    assert_dbt_ok(daily_build(warehouse, as_of_date=NEW_DATE, capture=True))
    after = current_snapshot(publish_dir)
    assert after != before and (after / MANIFEST_NAME).is_file()
    with duckdb.connect(str(after / DUCKDB_FILE_NAME), read_only=True) as con:
        assert (
            con.execute(
                f"select count(*) from propensity_scores where as_of_date = '{NEW_DATE}'"
            ).fetchall()[0][0]
            > 0
        )
    leftovers = [
        p for p in (publish_dir / "snapshots").iterdir() if not (p / MANIFEST_NAME).exists()
    ]
    assert leftovers == [], "the next publish removes what the killed one left"


def test_a_failed_run_publishes_nothing(built_warehouse, tmp_path):
    warehouse = _private_copy(built_warehouse, tmp_path)
    publish_dir = default_publish_dir(warehouse.warehouse_path)
    before = current_snapshot(publish_dir)
    snapshots_before = sorted((publish_dir / "snapshots").iterdir())
    # Drift thresholds no real day meets: the drift tests fail the run.
    result = daily_build(
        warehouse,
        as_of_date=NEW_DATE,
        dbt_vars={"monitoring_psi_warn": 0.0001, "monitoring_psi_fail": 0.0002},
        capture=True,
    )
    assert result.returncode != 0
    assert re.search(r"SKIP relation publishing\.bi_snapshot", result.stdout), result.stdout[-3000:]
    assert current_snapshot(publish_dir) == before
    assert sorted((publish_dir / "snapshots").iterdir()) == snapshots_before
