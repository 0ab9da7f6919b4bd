"""Where customer_features' older dates go (var feature_history_days).

The daily job moves the as_of dates older than feature_history_days before the
scoring date out of the warehouse into Parquet, one file per date, under
``<history dir>/customer_features/as_of_date=YYYY-MM-DD/rows.parquet``
(macros/feature_history.sql). The folder is beside the warehouse file the user
named; a job runs dbt on a working copy of that file, so the CLI passes the
folder to dbt in ``$SAP_HISTORY_DIR`` (the macro's own default is the same rule
applied to the file dbt opens).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

HISTORY_DIR_ENV = "SAP_HISTORY_DIR"


def default_history_dir(warehouse_path: str | os.PathLike[str]) -> Path:
    """``warehouse/segment_and_predict.duckdb`` -> ``warehouse/segment_and_predict_history``."""
    path = Path(warehouse_path)
    stem = path.name[: -len(".duckdb")] if path.name.endswith(".duckdb") else path.name
    return path.with_name(stem + "_history")


def history_dir_for(
    warehouse_path: str | os.PathLike[str], environ: Mapping[str, str] = os.environ
) -> Path:
    """$SAP_HISTORY_DIR of ``environ`` when set (a relative one from this process's
    folder), else the folder beside the warehouse."""
    configured = environ.get(HISTORY_DIR_ENV)
    return Path(configured).absolute() if configured else default_history_dir(warehouse_path)


def archived_dates(
    history_dir: str | os.PathLike[str], table: str = "customer_features"
) -> list[str]:
    """The as_of dates (YYYY-MM-DD, sorted) of ``table`` moved to Parquet in ``history_dir``."""
    folder = Path(history_dir) / table
    return sorted(
        f.parent.name.removeprefix("as_of_date=") for f in folder.glob("as_of_date=*/rows.parquet")
    )
