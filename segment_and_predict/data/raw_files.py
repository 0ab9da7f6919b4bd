"""Which files hold a raw table: the one owner of a table's file list.

A contract table ``<table>`` in the raw folder (the dbt var ``raw_data_path``)
is exported in one of three layouts (docs/raw_data_contract.md):

- one file ``<table>.parquet``;
- a folder ``<table>/`` of part files ``*.parquet`` (what Spark, warehouse
  unloads and most export tools write), read as the glob ``<table>/*.parquet``;
- the same folder named ``<table>.parquet/`` (Spark's ``df.write.parquet("orders.parquet")``).

Everything that reads or checks raw data goes through :func:`raw_table_files`:
the structural checks (:mod:`segment_and_predict.data.raw_checks`), and the dbt
macros (``macros/raw_source.sql`` through the SQL function of the same name
that :mod:`segment_and_predict.dbt.plugin` registers), so the checks and the
reads open exactly the same files.

Paths are literal: a folder called ``raw[1]`` is that folder, never the glob
``raw1``. DuckDB treats ``[ ] * ?`` in a path as glob characters, so
:func:`duckdb_literal_path` escapes them (``[`` becomes ``[[]``) before a path
reaches ``read_parquet``.

Files that look like extra parts of a table but are outside its layout
(``orders_2.parquet``, ``orders (1).parquet``, an ``orders.parquet`` beside an
``orders/`` folder) are refused with a sentence naming them: reading only one
of them would lose rows without a word.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from segment_and_predict.data.contract import TABLES_BY_NAME

CONTRACT_DOC = "docs/raw_data_contract.md"
GLOB_CHARACTERS = "[]*?"
# Files an export tool writes beside its part files that hold no data
# (Spark's _SUCCESS and .crc files, hidden files).
_NOT_A_PART = re.compile(r"^[._]")
# A name that continues a table's name the way copies and parts are named:
# orders_2, orders-part-1, orders (1), orders.1, orders copy, Orders.
_SEPARATOR = re.compile(r"^[\s_.\-(]")


def duckdb_literal_path(path: str) -> str:
    """``path`` with DuckDB's glob characters escaped, so DuckDB reads exactly that file."""
    return "".join(f"[{c}]" if c in GLOB_CHARACTERS else c for c in path)


@dataclass(frozen=True)
class RawTableFiles:
    """The files of one raw table, or why they cannot be read.

    ``files`` are literal paths in reading order (empty when the table is
    absent); ``problem`` is a sentence when the layout is refused (then
    ``files`` is empty and nothing must read the table).
    """

    table: str
    location: str
    files: tuple[str, ...] = field(default_factory=tuple)
    problem: str | None = None

    @property
    def exists(self) -> bool:
        return bool(self.files) or self.problem is not None

    def to_json(self) -> str:
        return json.dumps(
            {
                "files": list(self.files),
                "duckdb_paths": [duckdb_literal_path(f) for f in self.files],
                "location": self.location,
                "problem": self.problem,
            }
        )


def _stem(name: str) -> str:
    return name[: -len(".parquet")] if name.lower().endswith(".parquet") else name


def stray_entries(folder: Path, table_name: str, entries: list[str]) -> list[str]:
    """Names in the raw folder that look like more parts of ``table_name`` but are not read."""
    strays = []
    others = {name.lower() for name in TABLES_BY_NAME if name != table_name}
    for name in entries:
        stem = _stem(name)
        if stem in (table_name,) and name in (table_name, f"{table_name}.parquet"):
            continue  # the table's own file or folder
        lowered = stem.lower()
        if lowered in others or _NOT_A_PART.match(name):
            continue
        if not (name.lower().endswith(".parquet") or (folder / name).is_dir()):
            continue
        if lowered == table_name or (
            lowered.startswith(table_name) and _SEPARATOR.match(stem[len(table_name) :])
        ):
            strays.append(name)
    return sorted(strays)


def _part_files(part_folder: Path, table_name: str) -> tuple[list[str], str | None]:
    parts, nested = [], []
    for entry in sorted(os.listdir(part_folder)):
        if _NOT_A_PART.match(entry):
            continue
        path = part_folder / entry
        if path.is_dir():
            nested.append(entry)
        elif entry.lower().endswith(".parquet"):
            parts.append(str(path))
    if nested:
        return [], (
            f"Raw table '{table_name}': rule 'one folder of parts': the folder {part_folder} "
            f"holds subfolders ({', '.join(nested)}); put every part file directly in "
            f"{part_folder}, without partition subfolders ({CONTRACT_DOC})."
        )
    if not parts:
        return [], (
            f"Raw table '{table_name}': rule 'parts are .parquet files': the folder "
            f"{part_folder} holds no .parquet part files ({CONTRACT_DOC})."
        )
    return parts, None


def raw_table_files(raw_data_path: str, table_name: str) -> RawTableFiles:
    """The files holding ``table_name`` in the raw folder ``raw_data_path`` (read literally)."""
    folder = Path(raw_data_path.rstrip("/") or "/")
    location = f"{folder}/{table_name}.parquet"
    try:
        entries = sorted(os.listdir(folder))
    except OSError:
        return RawTableFiles(table_name, location)
    strays = stray_entries(folder, table_name, entries)
    single = folder / f"{table_name}.parquet"
    bare_folder = folder / table_name
    candidates = [p for p in (single, bare_folder) if p.name in entries]
    if bare_folder.name in entries and not bare_folder.is_dir():
        candidates.remove(bare_folder)  # a file named just "orders" is not a layout
        strays = sorted([*strays, bare_folder.name])
    if len(candidates) == 2 or strays:
        names = sorted({*(p.name for p in candidates if len(candidates) == 2), *strays})
        return RawTableFiles(
            table_name,
            location,
            problem=(
                f"Raw table '{table_name}': rule 'one layout per table': {folder} holds "
                f"{', '.join(repr(n) for n in names)} besides or instead of the table's own "
                f"file. A table is one file {table_name}.parquet or one folder {table_name}/ "
                f"of part files; move or merge the others, so no rows are left out "
                f"({CONTRACT_DOC})."
            ),
        )
    if not candidates:
        return RawTableFiles(table_name, location)
    chosen = candidates[0]
    if chosen.is_dir():
        parts, problem = _part_files(chosen, table_name)
        return RawTableFiles(table_name, f"{chosen}/*.parquet", tuple(parts), problem)
    return RawTableFiles(table_name, str(chosen), (str(chosen),))


def raw_table_files_json(raw_data_path: str, table_name: str) -> str:
    """:func:`raw_table_files` as JSON, for the dbt macros (through the plugin)."""
    return raw_table_files(raw_data_path, table_name).to_json()
