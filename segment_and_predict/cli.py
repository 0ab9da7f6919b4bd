"""Command line of segment-and-predict: ``segment-and-predict <command> [options]``.

Each command is a subparser with a handler stored as ``func``; to add a command,
write an ``_add_<name>(subparsers)`` function and list it in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from exc


def _run_generate(args: argparse.Namespace) -> int:
    from segment_and_predict.data.generator import GeneratorConfig, generate

    try:
        config = GeneratorConfig(
            customers=args.customers,
            end_date=args.end_date,
            months=args.months,
            seed=args.seed,
            buyer_rate=args.buyer_rate,
            chunk_size=args.chunk_size,
        )
    except ValueError as exc:
        print(f"segment-and-predict generate: error: {exc}", file=sys.stderr)
        return 2
    result = generate(out_dir=args.out, config=config, progress=not args.quiet)
    if not args.quiet:
        rows = ", ".join(f"{name} {n:,}" for name, n in result.rows.items())
        print(
            f"wrote {args.out} in {result.seconds:.1f} s "
            f"(intensity multiplier {result.multiplier:.3f}, "
            f"pilot buyer rate {result.pilot_buyer_rate:.3f}): {rows}",
            file=sys.stderr,
        )
    return 0


def _add_generate(subparsers: argparse._SubParsersAction) -> None:
    from segment_and_predict.data.generator import config as c

    p = subparsers.add_parser(
        "generate",
        help="write a synthetic raw folder (one Parquet file per contract table)",
        description=(
            "Simulate a shop's customers (hidden traits -> sessions, messages, orders, "
            "returns, tickets, tiers, subscriptions) and write the raw Parquet tables. "
            "Deterministic for a given seed and parameters."
        ),
    )
    p.add_argument("--customers", type=int, default=c.DEFAULT_CUSTOMERS, help="number of customers")
    p.add_argument("--out", default="data/raw", help="output folder (default: data/raw)")
    p.add_argument(
        "--end-date",
        type=_date,
        default=c.DEFAULT_END_DATE,
        help="last day with activity, YYYY-MM-DD (default: %(default)s)",
    )
    p.add_argument(
        "--months",
        type=int,
        default=c.DEFAULT_MONTHS,
        help=f"months of activity before the end ({c.MIN_MONTHS}-{c.MAX_MONTHS}, "
        "default: %(default)s)",
    )
    p.add_argument("--seed", type=int, default=c.DEFAULT_SEED, help="random seed")
    p.add_argument(
        "--buyer-rate",
        type=float,
        default=c.DEFAULT_BUYER_RATE,
        help="target share of customers who order in the last 30 days (default: %(default)s)",
    )
    p.add_argument(
        "--chunk-size",
        type=int,
        default=c.DEFAULT_CHUNK_SIZE,
        help="customers simulated per chunk (memory vs speed; changes the data)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=_run_generate)


def _user_path(value: str | None) -> Path | None:
    """A path the user typed: relative to the folder they typed it in (as cron runs it)."""
    return None if value is None else Path(value).expanduser().resolve()


def _run_dbt_job(args: argparse.Namespace) -> int:
    from segment_and_predict.dbt.jobs import (
        DEFAULT_RAW_DATA_PATH,
        JobError,
        Warehouse,
        check_job,
        daily_build,
        full_build,
        job_vars,
        parse_dbt_vars,
    )
    from segment_and_predict.dbt.preflight import PreflightError
    from segment_and_predict.dbt.project import ProjectNotFoundError, find_project_dir

    try:
        project_dir = find_project_dir(args.project_dir)
        dbt_vars = parse_dbt_vars(args.vars)
        job_vars(args.as_of_date, dbt_vars)
    except (ValueError, ProjectNotFoundError) as exc:
        print(f"segment-and-predict {args.command}: error: {exc}", file=sys.stderr)
        return 2
    warehouse = Warehouse.from_paths(
        project_dir,
        _user_path(args.raw_data_path) or DEFAULT_RAW_DATA_PATH,
        _user_path(args.warehouse),
    )
    try:
        check_job(
            args.command,
            warehouse.project_dir,
            warehouse.raw_data_path,
            warehouse.warehouse_path,
            dbt_vars,
        )
    except PreflightError as exc:
        print(f"segment-and-predict {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except JobError as exc:  # the warehouse is busy
        print(f"segment-and-predict {args.command}: error: {exc}", file=sys.stderr)
        return 1
    job = full_build if args.command == "build" else daily_build
    started = time.time()
    try:
        result = job(warehouse, as_of_date=args.as_of_date, dbt_vars=dbt_vars)
    except JobError as exc:
        print(f"segment-and-predict {args.command}: error: {exc}", file=sys.stderr)
        return 1
    _print_outcome(args.command, warehouse, result, started)
    _print_summary(args.command, warehouse, result, started)
    return result.returncode


def _print_outcome(command: str, warehouse, result, started: float) -> None:
    """After build/daily: the failed tests' values, the failed gate checks, and whether
    the run's tables were kept."""
    from dataclasses import replace

    from segment_and_predict.dbt.failures import explain_failed_tests
    from segment_and_predict.dbt.jobs import failed_copy_path

    if result.returncode != 0:
        # the failing tests ran on the working copy, kept aside when not published
        ran_on = (
            replace(warehouse, warehouse_path=failed_copy_path(warehouse))
            if result.published is False
            else warehouse
        )
        for sentence in explain_failed_tests(ran_on, since=started):
            print(f"segment-and-predict {command}: {sentence}", file=sys.stderr)
    for line in result.gate_lines:
        print(f"segment-and-predict {command}: {line}", file=sys.stderr)
    if result.published is False:
        print(
            f"segment-and-predict {command}: error: the run did not complete (see the dbt "
            f"output above), so nothing it changed was kept: the warehouse "
            f"{warehouse.warehouse_path} is exactly as it was before the run, and the models "
            f"that served before keep serving. What the run built is in "
            f"{failed_copy_path(warehouse)} to inspect (e.g. data_quality_issues). Fix the "
            f"cause and run this again.",
            file=sys.stderr,
        )


def _print_summary(command: str, warehouse, result, started: float) -> None:
    """The run in a dozen lines on stdout, after dbt's output (dbt.run_summary)."""
    from segment_and_predict.dbt.history import history_dir_for
    from segment_and_predict.dbt.jobs import failed_copy_path
    from segment_and_predict.dbt.publish import publish_dir_for
    from segment_and_predict.dbt.run_summary import (
        BI_SNAPSHOT_NODE,
        RunFacts,
        run_node_statuses,
        summary_lines,
    )

    statuses = run_node_statuses(warehouse.project_dir, since=started)
    publish_dir = publish_dir_for(warehouse.warehouse_path)
    failed_copy = failed_copy_path(warehouse)
    facts = RunFacts(
        command=command,
        returncode=result.returncode,
        kept=result.published is not False,
        warehouse_path=warehouse.warehouse_path,
        # this run's copy only: an older failed run's copy may still be there
        failed_copy=failed_copy
        if result.published is False
        and failed_copy.is_file()
        and failed_copy.stat().st_mtime >= started
        else None,
        bi_published=publish_dir / "current"
        if statuses.get(BI_SNAPSHOT_NODE) == "success"
        else None,
        publish_dir=publish_dir,
        started=started,
        node_statuses=statuses,
        history_dir=history_dir_for(warehouse.warehouse_path),
    )
    sys.stderr.flush()
    print("\n".join(summary_lines(facts)), flush=True)


def _add_dbt_job(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:
    from segment_and_predict.dbt.jobs import DEFAULT_RAW_DATA_PATH

    p = subparsers.add_parser(name, help=help_text, description=help_text)
    p.add_argument(
        "--raw-data-path",
        default=None,
        help=f"folder of the raw Parquet export, relative to the current folder "
        f"(default: {DEFAULT_RAW_DATA_PATH} in the project)",
    )
    p.add_argument(
        "--warehouse",
        default=None,
        help="DuckDB file to build (default: $SAP_DUCKDB_PATH or "
        "warehouse/segment_and_predict.duckdb)",
    )
    p.add_argument(
        "--as-of-date",
        default="default",
        help="scoring date YYYY-MM-DD (default: the day after the last event in the data)",
    )
    p.add_argument(
        "--vars",
        default="",
        help="more dbt vars as a YAML mapping, e.g. the quality gates of your business: "
        "'{propensity_gate_min_pr_auc: 0.3}' (defaults in dbt_project.yml)",
    )
    p.add_argument(
        "--project-dir",
        default=None,
        help="the dbt project folder (default: the current folder if it is the project, "
        "else the folder the package was installed from)",
    )
    p.set_defaults(func=_run_dbt_job)


def _add_build(subparsers: argparse._SubParsersAction) -> None:
    _add_dbt_job(
        subparsers,
        "build",
        "full dbt build: features, training of both models, scoring, segments, marts and tests",
    )


def _add_daily(subparsers: argparse._SubParsersAction) -> None:
    _add_dbt_job(
        subparsers,
        "daily",
        "the daily job: dbt build without retraining (scores and segments with the stored models)",
    )


def _default_report_warehouse(fallback: Callable[[], Path]) -> Path:
    """The warehouse the build commands write by default, found from any folder."""
    from segment_and_predict.dbt.jobs import Warehouse
    from segment_and_predict.dbt.project import ProjectNotFoundError, find_project_dir

    try:
        return Warehouse.from_paths(find_project_dir()).warehouse_path
    except ProjectNotFoundError:
        return fallback()


def _run_report(args: argparse.Namespace) -> int:
    import duckdb

    from segment_and_predict.dbt.preflight import warehouse_error_sentence, warehouse_file_problem

    from .report import default_warehouse_path, write_report

    warehouse = _user_path(args.warehouse) or _default_report_warehouse(default_warehouse_path)
    problem = warehouse_file_problem(Path(warehouse), writing=False)
    if problem:
        print(f"segment-and-predict report: error: {problem}", file=sys.stderr)
        return 2
    try:
        out = write_report(warehouse, args.out)
    except FileNotFoundError as exc:
        print(f"segment-and-predict report: error: {exc}", file=sys.stderr)
        return 2
    except duckdb.Error as exc:
        if "lock" in str(exc).lower():
            message = (
                f"The warehouse {warehouse} is in use by a running build or daily job (DuckDB "
                "lets no reader in while it writes). Run the report when the job has finished."
            )
        else:
            message = warehouse_error_sentence(Path(warehouse), str(exc))
        print(f"segment-and-predict report: error: {message}", file=sys.stderr)
        return 1
    print(out)
    return 0


def _add_report(subparsers: argparse._SubParsersAction) -> None:
    from .report import DEFAULT_REPORT_PATH

    p = subparsers.add_parser(
        "report",
        help="write the HTML report of a built warehouse (self-contained, opens offline)",
        description=(
            "Read the warehouse (read-only) and write one self-contained HTML page with "
            "the run's headline figures, model quality charts, segments and model history."
        ),
    )
    p.add_argument(
        "--warehouse",
        default=None,
        help="DuckDB file to read (default: $SAP_DUCKDB_PATH or "
        "warehouse/segment_and_predict.duckdb)",
    )
    p.add_argument(
        "--out",
        default=DEFAULT_REPORT_PATH,
        help="HTML file to write (default: %(default)s)",
    )
    p.set_defaults(func=_run_report)


def _run_convert_cdnow(args: argparse.Namespace) -> int:
    from segment_and_predict.data.datasets.cdnow import (
        CdnowDownloadError,
        cdnow_vars_text,
        convert_cdnow,
        download_cdnow_master,
    )

    try:
        source = args.source
        if source is None:
            print("downloading the lifetimes wheel from PyPI for CDNOW_master.txt", file=sys.stderr)
            source = download_cdnow_master(args.out)
        result = convert_cdnow(source, args.out)
    except (CdnowDownloadError, FileNotFoundError) as exc:
        print(f"segment-and-predict convert-cdnow: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {result.out_dir}: {result.customers:,} customers, {result.orders:,} orders "
        f"({result.first_order_date} to {result.last_order_date}; "
        f"{result.dropped_zero_value_orders} zero-value lines dropped)"
    )
    print(
        "build it with the gates set for CDNOW (docs/bring_your_own_data.md):\n"
        f"  segment-and-predict build --raw-data-path {result.out_dir} "
        f"--vars '{cdnow_vars_text()}'"
    )
    return 0


def _add_convert_cdnow(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "convert-cdnow",
        help="convert the CDNOW purchase log (a real retailer) into the raw-data contract",
        description=(
            "Write customers.parquet and orders.parquet from CDNOW_master.txt. Without "
            "--source the file is taken from the lifetimes wheel on PyPI (pip download)."
        ),
    )
    p.add_argument("--out", default="data/cdnow", help="raw folder to write (default: %(default)s)")
    p.add_argument("--source", default=None, help="an existing CDNOW_master.txt")
    p.set_defaults(func=_run_convert_cdnow)


def _run_backtest(args: argparse.Namespace) -> int:
    from segment_and_predict.dbt.jobs import JobError, Warehouse, parse_dbt_vars

    from .backtest import (
        BacktestError,
        backtest_dates,
        format_results,
        parse_every,
        run_backtest,
        scratch_warehouse,
    )

    try:
        dates = backtest_dates(args.date_from, args.date_to, parse_every(args.every))
        dbt_vars = parse_dbt_vars(args.vars)
    except (BacktestError, ValueError) as exc:
        print(f"segment-and-predict backtest: error: {exc}", file=sys.stderr)
        return 2
    warehouse = Warehouse.from_paths(args.project_dir, args.raw_data_path, args.warehouse)
    scratch = scratch_warehouse(warehouse).warehouse_path
    print(f"backtest as of {', '.join(dates)} into {scratch}", file=sys.stderr)
    started = time.monotonic()
    try:
        results = run_backtest(
            warehouse, dates, dbt_vars=dbt_vars, log=lambda line: print(line, file=sys.stderr)
        )
    except (JobError, ValueError) as exc:
        print(f"segment-and-predict backtest: error: {exc}", file=sys.stderr)
        return 1
    print(format_results(results))
    print(
        f"backtest_results written to {scratch} in {time.monotonic() - started:.0f} s",
        file=sys.stderr,
    )
    return 0


def _add_backtest(subparsers: argparse._SubParsersAction) -> None:
    from segment_and_predict.dbt.jobs import DEFAULT_RAW_DATA_PATH

    help_text = (
        "walk-forward backtest: train and score as of each date in a scratch warehouse and "
        "record realised metrics in its backtest_results table (docs/backtest.md)"
    )
    p = subparsers.add_parser("backtest", help=help_text, description=help_text)
    p.add_argument("--from", dest="date_from", type=_date, required=True, help="first as_of date")
    p.add_argument("--to", dest="date_to", type=_date, required=True, help="last as_of date")
    p.add_argument("--every", default="30d", help="days between dates (default: %(default)s)")
    p.add_argument(
        "--raw-data-path",
        default=DEFAULT_RAW_DATA_PATH,
        help="folder of the raw Parquet export (default: %(default)s)",
    )
    p.add_argument(
        "--warehouse",
        default=None,
        help="the main DuckDB file; the backtest writes <name>_backtest.duckdb beside it and "
        "never touches this one (default: $SAP_DUCKDB_PATH or "
        "warehouse/segment_and_predict.duckdb)",
    )
    p.add_argument(
        "--vars", default="", help="more dbt vars as a YAML mapping (e.g. your quality gates)"
    )
    p.add_argument("--project-dir", default=".", help="the dbt project folder (default: .)")
    p.set_defaults(func=_run_backtest)


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_generate,
    _add_build,
    _add_daily,
    _add_convert_cdnow,
    _add_report,
    _add_backtest,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segment-and-predict",
        description="Customer segments and 30-day purchase propensity on dbt + DuckDB.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    subparsers.required = True
    for add in COMMANDS:
        add(subparsers)
    return parser


def _unknown_command(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str | None:
    """The error for a mistyped command, with the closest ones, or None if it is known."""
    import difflib

    words = [word for word in argv if not word.startswith("-")]
    if not words or (argv and argv[0].startswith("-")):
        return None  # options first (--version, --help): argparse answers
    subparsers = next(
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    )
    commands = list(subparsers.choices)
    if words[0] in commands:
        return None
    close = difflib.get_close_matches(words[0], commands, n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return (
        f"segment-and-predict: error: unknown command {words[0]!r}.{hint} "
        f"Commands: {', '.join(commands)} (segment-and-predict --help says what each does)."
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    unknown = _unknown_command(parser, argv)
    if unknown:
        print(unknown, file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
