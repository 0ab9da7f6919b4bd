"""Stream tables to Parquet, one file per table, one row group (or more) per chunk.

Arrow types follow the contract (:mod:`segment_and_predict.data.contract`):
VARCHAR -> string (identifier columns ``*_id`` as int64, which the contract
allows), TIMESTAMP -> timestamp[us] without time zone, DOUBLE -> float64,
INTEGER -> int32, BOOLEAN -> bool.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..contract import TABLES, Column, Table
from .config import NO_TIME
from .tables import Codes

_SCALAR_TYPES = {
    "TIMESTAMP": pa.timestamp("us"),
    "DOUBLE": pa.float64(),
    "INTEGER": pa.int32(),
    "BOOLEAN": pa.bool_(),
}


def arrow_type(column: Column) -> pa.DataType:
    if column.type == "VARCHAR":
        return pa.int64() if column.name.endswith("_id") else pa.string()
    return _SCALAR_TYPES[column.type]


def arrow_schema(table: Table) -> pa.Schema:
    return pa.schema(
        [pa.field(col.name, arrow_type(col), nullable=col.nullable) for col in table.columns]
    )


def _to_arrow(column: Column, values: object) -> pa.Array:
    typ = arrow_type(column)
    if isinstance(values, Codes):
        codes = values.codes.astype(np.int32)
        indices = pa.array(codes, mask=codes < 0) if column.nullable else pa.array(codes)
        return pc.take(pa.array(values.vocabulary, pa.string()), indices)
    arr = np.asarray(values)
    mask = None
    if column.nullable:
        if column.type == "TIMESTAMP":
            mask = arr >= NO_TIME
        elif column.type == "DOUBLE":
            mask = np.isnan(arr)
        elif column.type == "INTEGER":
            mask = arr < 0
    if typ == pa.int32():
        arr = arr.astype(np.int32, copy=False)
    elif typ == pa.int64():
        arr = arr.astype(np.int64, copy=False)
    return pa.array(arr, type=typ, mask=mask if mask is not None and mask.any() else None)


class RawWriter:
    """One ParquetWriter per contract table in ``out_dir``; use as a context manager."""

    def __init__(self, out_dir: Path | str, compression: str = "zstd") -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.rows = {t.name: 0 for t in TABLES}
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._compression = compression

    def __enter__(self) -> RawWriter:
        for table in TABLES:
            path = self.out_dir / f"{table.name}.parquet"
            self._writers[table.name] = pq.ParquetWriter(
                path, arrow_schema(table), compression=self._compression
            )
        return self

    def write(self, tables: dict[str, dict[str, object]]) -> None:
        for table in TABLES:
            columns = tables.get(table.name)
            if columns is None:
                # A contract table the simulation does not produce (e.g. one just
                # added to the contract): an optional one stays an empty file with
                # the contract's columns, as the contract allows; a required one
                # is an error.
                if table.required:
                    raise ValueError(f"{table.name}: a required table the simulation lacks")
                continue
            extra = set(columns) - set(table.column_names)
            if extra:
                raise ValueError(f"{table.name}: columns outside the contract: {sorted(extra)}")
            arrays = [_to_arrow(col, columns[col.name]) for col in table.columns]
            batch = pa.Table.from_arrays(arrays, schema=arrow_schema(table))
            if batch.num_rows:
                self._writers[table.name].write_table(batch)
                self.rows[table.name] += batch.num_rows

    def __exit__(self, *exc: object) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
