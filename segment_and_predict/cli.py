"""Command line of segment-and-predict: ``segment-and-predict <command> [options]``.

Each command is a subparser with a handler stored as ``func``; to add a command,
write an ``_add_<name>(subparsers)`` function and list it in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Sequence

from . import __version__


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from exc


def _run_generate(args: argparse.Namespace) -> int:
    from .generator import GeneratorConfig, generate

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
    from .generator import config as c

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


def _run_dbt_job(args: argparse.Namespace) -> int:
    from .jobs import JobError, Warehouse, daily_build, full_build, job_vars, parse_dbt_vars

    try:
        dbt_vars = parse_dbt_vars(args.vars)
        job_vars(args.as_of_date, dbt_vars)
    except ValueError as exc:
        print(f"segment-and-predict {args.command}: error: {exc}", file=sys.stderr)
        return 2
    warehouse = Warehouse.from_paths(args.project_dir, args.raw_data_path, args.warehouse)
    job = full_build if args.command == "build" else daily_build
    try:
        result = job(warehouse, as_of_date=args.as_of_date, dbt_vars=dbt_vars)
    except JobError as exc:
        print(f"segment-and-predict {args.command}: error: {exc}", file=sys.stderr)
        return 1
    _print_outcome(args.command, warehouse, result)
    return result.returncode


def _print_outcome(command: str, warehouse, result) -> None:
    """After build/daily: the failed gate checks, and whether the run's tables were kept."""
    from .jobs import failed_copy_path

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


def _add_dbt_job(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:
    from .jobs import DEFAULT_RAW_DATA_PATH

    p = subparsers.add_parser(name, help=help_text, description=help_text)
    p.add_argument(
        "--raw-data-path",
        default=DEFAULT_RAW_DATA_PATH,
        help="folder of the raw Parquet export (default: %(default)s)",
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
    p.add_argument("--project-dir", default=".", help="the dbt project folder (default: .)")
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


def _run_report(args: argparse.Namespace) -> int:
    from .report import default_warehouse_path, write_report

    warehouse = args.warehouse or default_warehouse_path()
    try:
        out = write_report(warehouse, args.out)
    except FileNotFoundError as exc:
        print(f"segment-and-predict report: error: {exc}", file=sys.stderr)
        return 2
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
    from .datasets.cdnow import (
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


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_generate,
    _add_build,
    _add_daily,
    _add_convert_cdnow,
    _add_report,
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
