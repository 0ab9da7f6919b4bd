"""Structural checks of a raw table's Parquet file(s) against the raw-data contract.

The build's first step (the dbt on-run-start hook ``check_raw_export``) calls
:func:`raw_table_problem` for every raw table that is present, through the
DuckDB function of the same name that :mod:`segment_and_predict.dbt.plugin`
registers. A problem stops the build before any model runs, with a sentence
naming the table, the column and the rule broken, instead of a reader error
deep inside a model. Row-level problems (duplicates, unknown customers, ...)
are not checked here: staging quarantines those rows (``macros/quarantine.sql``).

Types are checked by family, not exactly: exports differ in integer widths,
timestamp units and string encodings, and staging casts every column to the
contract's type. What is rejected is a column that cannot mean what the
contract says (text where an amount belongs, a number where a timestamp
belongs, a timestamp with a time zone where local time is promised).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from segment_and_predict.data.contract import TABLES_BY_NAME
from segment_and_predict.data.raw_files import raw_table_files

CONTRACT_DOC = "docs/raw_data_contract.md"


def _is_text(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        return _is_text(t.value_type)
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _is_naive_time(t: pa.DataType) -> bool:
    return (pa.types.is_timestamp(t) and t.tz is None) or pa.types.is_date(t)


# Contract type -> (test, what is accepted, in words for the message).
ACCEPTED_TYPES: dict[str, tuple[Callable[[pa.DataType], bool], str]] = {
    "VARCHAR": (
        lambda t: _is_text(t) or pa.types.is_integer(t),
        "text, or integers for identifiers and codes",
    ),
    "TIMESTAMP": (_is_naive_time, "a timestamp without time zone (any unit) or a date"),
    "DOUBLE": (_is_number, "a number: integer, float or decimal"),
    "INTEGER": (_is_number, "a whole number: any integer type (floats are rounded)"),
    "BOOLEAN": (pa.types.is_boolean, "a boolean"),
}


def _type_problem(contract_type: str, found: pa.DataType) -> str | None:
    if pa.types.is_null(found):  # a column that is null everywhere fits any type
        return None
    accepts, accepted = ACCEPTED_TYPES[contract_type]
    if accepts(found):
        return None
    if pa.types.is_timestamp(found) and found.tz is not None:
        return (
            f"rule 'column type': found a timestamp with time zone {found.tz}; the contract "
            f"wants naive timestamps in the shop's local time ({accepted})"
        )
    return f"rule 'column type': found {found}, the contract requires {contract_type} ({accepted})"


# A column the contract marks "nullable: no" may hold a few nulls (keys and event
# times are quarantined row by row; a null discount reads as 0), but when more
# than this share of a table's rows are null in it, the export lost the column
# (a failed join, a renamed field upstream), and a feature built on it would be
# 0 or null for nearly everyone: the build is rejected.
MAX_NULL_SHARE = 0.5


def _null_count(parquet: pq.ParquetFile, column: str) -> int:
    """Nulls in one top-level column: from the row-group statistics when every
    group has them (no data read), else by reading that column alone."""
    metadata = parquet.metadata
    counts = []
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        chunks = [
            row_group.column(i)
            for i in range(row_group.num_columns)
            if row_group.column(i).path_in_schema == column
        ]
        statistics = chunks[0].statistics if chunks else None
        if statistics is None or not statistics.has_null_count:
            return int(parquet.read(columns=[column]).column(0).null_count)
        counts.append(statistics.null_count)
    return int(sum(counts))


def _case_problem(column: str, found: dict) -> str | None:
    """The sentence for a contract column present only in another letter case."""
    variants = [name for name in found if name.lower() == column and name != column]
    if not variants:
        return None
    return (
        f"rule 'column names in lower case': found {', '.join(repr(v) for v in variants)}; "
        f"column names are matched exactly, as the contract writes them, so rename it to "
        f"'{column}'"
    )


def _file_problems(table, path: str) -> tuple[list[str], pa.Schema | None, int, dict[str, int]]:
    """Problems of one Parquet file of ``table``, its schema, row count, and the
    null count of each present column the contract marks "nullable: no"."""
    table_name = table.name
    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
        num_rows = parquet.metadata.num_rows
    except FileNotFoundError:
        return [f"Raw table '{table_name}': the file {path} was not found."], None, 0, {}
    except Exception as exc:  # noqa: BLE001 - any reader failure means "not readable"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (
            [
                f"Raw table '{table_name}': rule 'readable Parquet': {path} is not a readable "
                f"Parquet file ({reason}). Export it again ({CONTRACT_DOC})."
            ],
            None,
            0,
            {},
        )
    problems = []
    found = {field.name: field.type for field in schema}
    for column in table.columns:
        if column.name not in found:
            case_problem = _case_problem(column.name, found)
            if case_problem:
                problems.append(
                    f"Raw table '{table_name}', column '{column.name}': {case_problem} "
                    f"({CONTRACT_DOC})."
                )
                continue
            problems.append(
                f"Raw table '{table_name}', column '{column.name}': rule 'required column': "
                f"missing from {path} (it has: {', '.join(found) or 'no columns'}); the contract "
                f"requires {column.name} {column.type} ({CONTRACT_DOC})."
            )
            continue
        problem = _type_problem(column.type, found[column.name])
        if problem:
            problems.append(
                f"Raw table '{table_name}', column '{column.name}': {problem} ({CONTRACT_DOC})."
            )
    nulls = {}
    for column in table.columns:
        if column.nullable or num_rows == 0 or column.name not in found:
            continue
        if pa.types.is_null(found[column.name]):
            nulls[column.name] = num_rows
        else:
            nulls[column.name] = _null_count(parquet, column.name)
    return problems, schema, num_rows, nulls


def _schema_words(schema: pa.Schema) -> str:
    return ", ".join(f"{f.name} {f.type}" for f in schema)


def raw_table_problems(table_name: str, path: str | Sequence[str]) -> list[str]:
    """Every structural problem of the raw file(s) ``path`` holding contract table ``table_name``.

    ``path`` is one file or the part files of the table (as listed by
    :func:`segment_and_predict.data.raw_files.raw_table_files`); every part is
    checked. Returns an empty list when each file is readable Parquet with
    every contract column in an accepted type and name, all parts have the same
    columns and types, no "nullable: no" column is null in more than
    MAX_NULL_SHARE of the table's rows, and (required table) they hold rows.
    Extra columns are allowed and ignored.
    """
    table = TABLES_BY_NAME.get(table_name)
    if table is None:
        return [f"Raw table '{table_name}' is not part of the contract ({CONTRACT_DOC})."]
    paths = [path] if isinstance(path, str) else list(path)
    where = paths[0] if len(paths) == 1 else f"its {len(paths)} part files"
    problems: list[str] = []
    first: tuple[str, pa.Schema] | None = None
    num_rows = 0
    null_counts: dict[str, int] = {}
    for part in paths:
        part_problems, schema, rows, nulls = _file_problems(table, part)
        problems.extend(part_problems)
        num_rows += rows
        for name, count in nulls.items():
            null_counts[name] = null_counts.get(name, 0) + count
        if schema is None or part_problems:
            continue
        if first is None:
            first = (part, schema)
        elif not schema.remove_metadata().equals(first[1].remove_metadata()):
            problems.append(
                f"Raw table '{table_name}': rule 'parts share one schema': the part {part} has "
                f"the columns ({_schema_words(schema)}) but {first[0]} has "
                f"({_schema_words(first[1])}); export every part with the same columns and "
                f"types ({CONTRACT_DOC})."
            )
    for name, nulls in null_counts.items():
        if num_rows and nulls > MAX_NULL_SHARE * num_rows:
            everywhere = "every one" if nulls == num_rows else f"{nulls}"
            problems.append(
                f"Raw table '{table_name}', column '{name}': rule 'required column "
                f"has values': {everywhere} of its {num_rows} rows in {where} "
                f"{'is' if nulls == num_rows else 'are'} null ({nulls / num_rows:.0%}); the "
                f"contract says {name} is never null, and more than "
                f"{MAX_NULL_SHARE:.0%} null means the export lost the column. Fill it and "
                f"export again ({CONTRACT_DOC})."
            )
    if table.required and num_rows == 0 and not problems:
        problems.append(
            f"Raw table '{table_name}': rule 'required table has rows': {where} holds no rows, "
            f"and the table is required ({CONTRACT_DOC})."
        )
    return problems


def raw_table_problem(table_name: str, raw_data_path: str) -> str | None:
    """The problems of table ``table_name`` in the raw folder as one text (one per line), or None.

    The files are the ones :func:`raw_table_files` lists, which are the ones
    the build reads; an absent table is not a problem here (the caller knows
    whether the table is required).
    """
    located = raw_table_files(raw_data_path, table_name)
    if located.problem:
        return located.problem
    problems = raw_table_problems(table_name, located.files) if located.files else []
    return "\n".join(problems) if problems else None
