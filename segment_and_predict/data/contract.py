"""The raw-data contract: the Parquet tables a retailer exports into the raw folder.

The tables and columns are declared once, as the dbt sources in
``models/staging/_raw__sources.yml``; :data:`TABLES` is read from there. The data
generator writes exactly these tables and columns, the checks before dbt read
them, and ``docs/raw_data_contract.md`` explains them for people.

Each table is one Parquet file named ``<table>.parquet`` in the raw folder
(the dbt var ``raw_data_path``). Required tables must be present and non-empty;
an optional table may be absent or empty, and the features it feeds are then
null (documented per feature in ``models/features/_features__models.yml``).

Types are DuckDB logical types. Identifier columns may arrive as integers or
strings; staging casts them to VARCHAR.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    nullable: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    primary_key: tuple[str, ...]
    required: bool
    columns: tuple[Column, ...] = field(default_factory=tuple)
    # the timestamp that says when a row arrived in the export (meta.event_time);
    # None for order_lines, which arrive with their order
    event_time: str | None = None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


# Accepted values that staging normalises to; anything else is kept but
# reported (see the accepted_values tests on staging models).
SESSION_CHANNELS = ("app", "web")
MESSAGE_CHANNELS = ("email", "push")
LOYALTY_TIERS = ("bronze", "silver", "gold", "platinum")
# Category groups that get their own share-of-spend feature; every other
# product category counts as "other".
CATEGORY_GROUPS = ("electronics", "home", "fashion", "beauty", "sports", "grocery")

# The tables are declared once, as the dbt sources (models/staging/_raw__sources.yml:
# names, order, columns, types, meta.required, meta.primary_key, column
# meta.nullable); this module reads them, for the generator and the checks that run
# outside dbt. The package lives in the project (it is installed from it, editable).
SOURCES_YML = Path(__file__).resolve().parents[2] / "models" / "staging" / "_raw__sources.yml"


def tables_from_sources(path: Path = SOURCES_YML) -> tuple[Table, ...]:
    """The contract's tables as the dbt source ``raw`` in ``path`` declares them, in order."""
    sources = yaml.safe_load(path.read_text(encoding="utf-8"))["sources"]
    (raw,) = [source for source in sources if source["name"] == "raw"]
    return tuple(
        Table(
            name=table["name"],
            description=table["description"],
            primary_key=tuple(table["meta"]["primary_key"]),
            required=bool(table["meta"]["required"]),
            columns=tuple(
                Column(
                    column["name"],
                    column["data_type"].upper(),
                    column["description"],
                    bool((column.get("meta") or {}).get("nullable", False)),
                )
                for column in table["columns"]
            ),
            event_time=table["meta"].get("event_time"),
        )
        for table in raw["tables"]
    )


TABLES: tuple[Table, ...] = tables_from_sources()

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
REQUIRED_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES if t.required)
OPTIONAL_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES if not t.required)
