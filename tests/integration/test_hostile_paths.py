"""Hostile paths, layouts, vars and warehouses (issue 14, findings 3, 5, 6, 7).

Every case asserts the exit code, the sentence a user reads, and that the
public tables of a built warehouse are unchanged (public_table_checksums).
Most cases are refused by the CLI before dbt starts (preflight.py), so they
cost a second; five cases run dbt itself, to prove that the build's own
checks (on-run-start) and reads agree with the CLI's: glob characters,
spaces and unicode in the raw path with a folder of part files, a stray part
file and an unknown var refused by dbt, and an accepted-values failure that
names the values found. Rejections are run against one copy of the session's
built warehouse.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dbt_helpers import public_table_checksums, read_table

from segment_and_predict import cli
from segment_and_predict.dbt.failures import explain_failed_tests
from segment_and_predict.dbt.jobs import Warehouse, run_dbt

TRACEBACK = "Traceback (most recent call last)"


@pytest.fixture(scope="module")
def target(built_warehouse, tmp_path_factory) -> Warehouse:
    """A copy of the built warehouse that the hostile runs are pointed at."""
    folder = tmp_path_factory.mktemp("hostile_wh")
    path = folder / "hostile.duckdb"
    shutil.copyfile(built_warehouse.warehouse_path, path)
    return Warehouse(built_warehouse.project_dir, built_warehouse.raw_data_path, path)


@pytest.fixture(scope="module")
def baseline(target) -> dict:
    return public_table_checksums(target)


def _cli(capsys, *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _assert_refused(code: int, output: str, expected_code: int, *sentences: str) -> None:
    assert code == expected_code, output[-3000:]
    for sentence in sentences:
        assert sentence in output, f"{sentence!r} not in:\n{output[-3000:]}"
    assert TRACEBACK not in output


def _split(path: Path, parts: list[Path]) -> None:
    """Write the rows of the Parquet file ``path`` into ``parts`` (as equal slices)."""
    table = pq.read_table(path)
    size = -(-table.num_rows // len(parts))
    for i, part in enumerate(parts):
        part.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.slice(i * size, size), part)


def _build(capsys, target: Warehouse, raw: Path, *more: str) -> tuple[int, str]:
    return _cli(
        capsys,
        "build",
        "--raw-data-path",
        str(raw),
        "--warehouse",
        str(target.warehouse_path),
        *more,
    )


# ------------------------------------------------ multi-file exports: strays


@pytest.mark.parametrize(
    "stray",
    ["orders_2.parquet", "orders (1).parquet", "orders-part-0001.parquet", "Orders.parquet"],
)
def test_a_stray_part_file_is_refused_naming_it(stray, raw_copy, target, baseline, capsys):
    """Before: the second file was ignored and half the orders vanished, exit 0."""
    _split(raw_copy / "orders.parquet", [raw_copy / "orders.parquet", raw_copy / stray])
    code, output = _build(capsys, target, raw_copy)
    _assert_refused(code, output, 2, f"'{stray}'", "rule 'one layout per table'")
    assert public_table_checksums(target) == baseline


def test_a_file_beside_a_folder_of_parts_is_refused(raw_copy, target, baseline, capsys):
    _split(raw_copy / "orders.parquet", [raw_copy / "orders" / "part-0000.parquet"])
    code, output = _build(capsys, target, raw_copy)
    _assert_refused(code, output, 2, "'orders'", "'orders.parquet'", "one layout per table")
    assert public_table_checksums(target) == baseline


def test_parts_with_different_schemas_are_refused(raw_copy, target, baseline, capsys):
    orders = raw_copy / "orders.parquet"
    table = pq.read_table(orders)
    orders.unlink()
    folder = raw_copy / "orders"
    folder.mkdir()
    pq.write_table(table.slice(0, 100), folder / "part-0.parquet")
    # the same columns, but the amount as a decimal: DuckDB would cast it silently
    other = table.slice(100).set_column(
        3, "order_total", table.slice(100).column("order_total").cast(pa.decimal128(18, 2))
    )
    pq.write_table(other, folder / "part-1.parquet")
    code, output = _build(capsys, target, raw_copy)
    _assert_refused(code, output, 2, "rule 'parts share one schema'", "part-1.parquet")
    assert public_table_checksums(target) == baseline


def test_every_part_is_checked_against_the_contract(raw_copy, target, baseline, capsys):
    """Before: only <table>.parquet was checked; a broken second part passed the checks."""
    orders = raw_copy / "orders.parquet"
    table = pq.read_table(orders)
    orders.unlink()
    folder = raw_copy / "orders.parquet"  # Spark's df.write.parquet("orders.parquet")
    folder.mkdir()
    pq.write_table(table.slice(0, 100), folder / "part-00000.snappy.parquet")
    pq.write_table(table.slice(100).drop(["discount_amount"]), folder / "part-00001.snappy.parquet")
    (folder / "_SUCCESS").write_text("")
    code, output = _build(capsys, target, raw_copy)
    _assert_refused(
        code, output, 2, "column 'discount_amount': rule 'required column'", "part-00001"
    )
    assert public_table_checksums(target) == baseline


@pytest.mark.parametrize(
    ("layout", "sentence"),
    [
        ({"orders/_SUCCESS": None}, "holds no .parquet part files"),
        ({"orders/year=2026/part-0.parquet": "orders"}, "holds subfolders (year=2026)"),
    ],
)
def test_a_folder_without_usable_parts_is_refused(
    layout, sentence, raw_copy, target, baseline, capsys
):
    orders = raw_copy / "orders.parquet"
    for relative, content in layout.items():
        path = raw_copy / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            path.write_text("")
        else:
            shutil.copyfile(orders, path)
    orders.unlink()
    code, output = _build(capsys, target, raw_copy)
    _assert_refused(code, output, 2, "Raw table 'orders'", sentence)
    assert public_table_checksums(target) == baseline


# ------------------------------------------------ vars


def test_an_unknown_var_is_refused_by_the_cli_with_the_closest_name(
    small_raw_data, target, baseline, capsys
):
    """Before: propensity_gate_min_roc_aux: 0.999 ran with the default gate, exit 0."""
    code, output = _build(
        capsys, target, small_raw_data, "--vars", "{propensity_gate_min_roc_aux: 0.999}"
    )
    _assert_refused(
        code,
        output,
        2,
        "Unknown var 'propensity_gate_min_roc_aux' (did you mean 'propensity_gate_min_roc_auc'?)",
    )
    assert public_table_checksums(target) == baseline


# ------------------------------------------------ warehouses


def test_daily_before_any_build_says_to_build_first(small_raw_data, tmp_path, capsys):
    """Before: Catalog Error: Table with name segment_models does not exist!"""
    path = tmp_path / "never_built.duckdb"
    code, output = _cli(
        capsys, "daily", "--raw-data-path", str(small_raw_data), "--warehouse", str(path)
    )
    _assert_refused(code, output, 2, "Run `segment-and-predict build` first")
    assert not path.exists()


def test_daily_on_a_warehouse_without_models_says_to_build_first(small_raw_data, tmp_path, capsys):
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    before = path.read_bytes()
    code, output = _cli(
        capsys, "daily", "--raw-data-path", str(small_raw_data), "--warehouse", str(path)
    )
    _assert_refused(
        code,
        output,
        2,
        "has no segment_models or propensity_models or serving_models table yet",
        "build` first",
    )
    assert path.read_bytes() == before


def test_daily_on_a_warehouse_of_an_earlier_version_says_to_build_once(
    small_raw_data, tmp_path, capsys
):
    """Registries but no serving_models (built before the serving rule): one build first."""
    path = tmp_path / "earlier.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table segment_models (segment_model_id varchar)")
        con.execute("create table propensity_models (model_id varchar)")
    before = path.read_bytes()
    code, output = _cli(
        capsys, "daily", "--raw-data-path", str(small_raw_data), "--warehouse", str(path)
    )
    _assert_refused(
        code, output, 2, "has no serving_models table yet", "built by an earlier version"
    )
    assert path.read_bytes() == before


def test_a_damaged_warehouse_is_named_not_traced(small_raw_data, tmp_path, capsys):
    path = tmp_path / "damaged.duckdb"
    garbage = os.urandom(64 * 1024)
    path.write_bytes(garbage)
    for command in ("build", "daily"):
        code, output = _cli(
            capsys, command, "--raw-data-path", str(small_raw_data), "--warehouse", str(path)
        )
        _assert_refused(code, output, 2, f"The warehouse {path} is not a readable DuckDB database")
    code, output = _cli(
        capsys, "report", "--warehouse", str(path), "--out", str(tmp_path / "r.html")
    )
    _assert_refused(code, output, 2, "not a readable DuckDB database", "Restore it from a backup")
    assert path.read_bytes() == garbage


def test_a_folder_as_the_warehouse_is_named(small_raw_data, tmp_path, capsys):
    path = tmp_path / "warehouse.duckdb"
    path.mkdir()
    code, output = _cli(
        capsys, "build", "--raw-data-path", str(small_raw_data), "--warehouse", str(path)
    )
    _assert_refused(code, output, 2, f"The warehouse path {path} is a folder, not a DuckDB file")
    assert list(path.iterdir()) == []


def test_a_read_only_warehouse_is_named(small_raw_data, target, baseline, monkeypatch, capsys):
    path = target.warehouse_path
    mode = path.stat().st_mode
    path.chmod(0o444)
    if os.geteuid() == 0:  # root may write anyway; answer as the kernel would for a user
        real_access = os.access
        monkeypatch.setattr(
            os,
            "access",
            lambda p, m, **kw: False if Path(p) == path and m & os.W_OK else real_access(p, m),
        )
    try:
        code, output = _build(capsys, target, small_raw_data)
    finally:
        path.chmod(mode)
    _assert_refused(code, output, 2, f"The warehouse {path} is read-only for this user")
    assert public_table_checksums(target) == baseline


def test_report_while_a_job_holds_the_warehouse_says_to_wait(target, baseline, tmp_path, capsys):
    """Before: a traceback on DuckDB's lock."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
            "print('holding', flush=True); time.sleep(60)",
            str(target.warehouse_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        code, output = _cli(
            capsys,
            "report",
            "--warehouse",
            str(target.warehouse_path),
            "--out",
            str(tmp_path / "r.html"),
        )
    finally:
        holder.kill()
        holder.wait()
    _assert_refused(code, output, 1, "is in use by a running build or daily job", "has finished")
    assert not (tmp_path / "r.html").exists()
    time.sleep(0.1)
    assert public_table_checksums(target) == baseline


# ------------------------------------------------ the CLI from another folder (cron)


def test_the_cli_finds_its_project_from_another_folder(raw_copy, target, baseline, tmp_path):
    """Before: dbt's --profiles-dir usage error. Relative paths are the caller's folder's."""
    cron_folder = tmp_path / "cron home"
    cron_folder.mkdir()
    exported = cron_folder / "export"
    shutil.copytree(raw_copy, exported)
    shutil.copyfile(exported / "orders.parquet", exported / "orders_2.parquet")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "segment_and_predict",
            "build",
            "--raw-data-path",
            "export",
            "--warehouse",
            str(target.warehouse_path),
        ],
        cwd=cron_folder,
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    # the stray file is found in <cron folder>/export: the project was found (its
    # contract and vars were read) and the relative path was taken from the caller
    _assert_refused(
        result.returncode, output, 2, f"{exported} holds 'orders_2.parquet'", "one layout"
    )
    assert "--profiles-dir" not in output
    assert public_table_checksums(target) == baseline


# ------------------------------------------------ the build's own checks and reads (dbt)


def test_glob_characters_spaces_and_unicode_are_read_literally_with_parts(
    small_raw_data, target, baseline, tmp_path
):
    """Before: 'export [1] é' was read as the glob matching 'export 1 é', another export.

    The export under test keeps its orders as three part files in orders/; its
    glob twin holds one order only, so reading the wrong folder shows.
    """
    literal = tmp_path / "export [1] é"
    twin = tmp_path / "export 1 é"
    shutil.copytree(small_raw_data, literal)
    shutil.copytree(small_raw_data, twin)
    (literal / "orders.parquet").unlink()
    _split(
        small_raw_data / "orders.parquet",
        [literal / "orders" / f"part-{i}.parquet" for i in range(3)],
    )
    pq.write_table(pq.read_table(twin / "orders.parquet").slice(0, 1), twin / "orders.parquet")
    warehouse = Warehouse(target.project_dir, literal, target.warehouse_path)
    result = run_dbt(
        ["build", "-s", "+stg_orders", "--exclude-resource-type", "test", "unit_test"],
        warehouse,
        capture=True,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    staged = read_table(warehouse, "select count(*) as n from staging.stg_orders")["n"][0]
    expected = pq.read_metadata(small_raw_data / "orders.parquet").num_rows
    assert staged == expected > 1
    assert public_table_checksums(target) == baseline


def test_a_daily_job_in_a_folder_with_quotes_and_glob_characters_writes_every_output(
    small_raw_data, built_warehouse, tmp_path
):
    """Before: in a folder named "it's [1] é" the daily job failed in bi_snapshot.

    The BI views read '<folder>/*/*.parquet' as one glob, so '[1]' matched nothing;
    the feature history's file names are SQL literals, so the quote must be escaped.
    """
    folder = tmp_path / "it's [1] é"
    folder.mkdir()
    path = folder / "wh.duckdb"
    shutil.copyfile(built_warehouse.warehouse_path, path)
    code = cli.main(["daily", "--raw-data-path", str(small_raw_data), "--warehouse", str(path)])
    assert code == 0
    moved = list((folder / "wh_history" / "customer_features").glob("as_of_date=*/rows.parquet"))
    assert moved, "the daily job moved none of the build's training dates"
    bi_file = folder / "wh_bi" / "current" / "segment_and_predict.duckdb"
    with duckdb.connect(str(bi_file), read_only=True) as con:
        assert con.execute("select count(*) from propensity_scores").fetchone()[0] > 1000


def test_the_build_itself_refuses_a_stray_part_file(raw_copy, target, baseline):
    """dbt build without the CLI: check_raw_export (on-run-start) uses the same file list."""
    _split(
        raw_copy / "orders.parquet", [raw_copy / "orders.parquet", raw_copy / "orders_2.parquet"]
    )
    result = run_dbt(
        ["build"], Warehouse(target.project_dir, raw_copy, target.warehouse_path), capture=True
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "The raw export does not fit the contract; nothing was built" in output
    assert "'orders_2.parquet'" in output and "rule 'one layout per table'" in output
    assert public_table_checksums(target) == baseline


def test_the_build_itself_refuses_an_unknown_var(small_raw_data, target, baseline):
    warehouse = Warehouse(target.project_dir, small_raw_data, target.warehouse_path)
    result = run_dbt(
        ["build"], warehouse, dbt_vars={"segment_gate_min_silhuette": 0.9}, capture=True
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert (
        "Unknown var 'segment_gate_min_silhuette' (did you mean 'segment_gate_min_silhouette'?)"
        in output
    )
    assert public_table_checksums(target) == baseline


def test_an_accepted_values_failure_names_the_values_found(raw_copy, target, baseline):
    """Before: only the test's generated name and a count."""
    sessions = raw_copy / "sessions.parquet"
    table = pq.read_table(sessions)
    channel = table.column("channel").to_pylist()  # staged as session_channel
    channel[:7] = ["kiosk"] * 7
    index = table.schema.get_field_index("channel")
    pq.write_table(table.set_column(index, "channel", pa.array(channel)), sessions)
    warehouse = Warehouse(target.project_dir, raw_copy, target.warehouse_path)
    result = run_dbt(
        ["build", "-s", "+stg_sessions", "--exclude-resource-type", "unit_test"],
        warehouse,
        capture=True,
    )
    assert result.returncode == 1, result.stdout[-3000:]
    sentences = explain_failed_tests(warehouse)
    assert sentences == [
        "The accepted-values test on stg_sessions.session_channel failed: found 'kiosk' "
        "(7 rows); the allowed values are 'app', 'web'. Correct these values in the export "
        "(docs/raw_data_contract.md) and run again."
    ]
    assert public_table_checksums(target) == baseline
