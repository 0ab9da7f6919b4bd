"""Append-only model registries that a rerun never duplicates.

A build can be interrupted after a registry row is committed but before the
rest of the build finishes (a kill, a crash, a failing test downstream). The
rerun trains again on the same inputs, and since a retrain is a function of
its inputs alone (rows in key order, fixed seeds), it would append the same
model a second time. So each registry row records a fingerprint of everything
that shapes the model, and a training run whose fingerprint equals the newest
row's appends nothing: the registry holds one row per distinct training.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd

FINGERPRINT_COLUMN = "training_fingerprint"


# Float features are hashed rounded to this many significant bits (~9 decimal
# digits): DuckDB sums in parallel, so two builds on the same data can differ
# in the last bits of an average (~1e-14), which must not count as new inputs.
_FINGERPRINT_MANTISSA_BITS = 30


def _rounded(column: pd.Series) -> pd.Series:
    """``column`` with floats rounded to _FINGERPRINT_MANTISSA_BITS bits; others as they are."""
    if not pd.api.types.is_float_dtype(column.dtype):
        return column
    values = column.to_numpy(dtype="float64", na_value=np.nan)
    mantissa, exponent = np.frexp(values)
    scale = float(2**_FINGERPRINT_MANTISSA_BITS)
    return pd.Series(np.ldexp(np.round(mantissa * scale) / scale, exponent))


def training_fingerprint(
    rows: pd.DataFrame | Sequence[pd.DataFrame],
    *,
    settings: Mapping[str, object],
    library_versions: Mapping[str, str],
    code: ModuleType,
) -> str:
    """SHA-256 of a training run's inputs, as hex.

    ``rows`` are the training rows in key order (every column, values and
    types), one frame or several taken in turn; ``settings`` the parameters
    that change the outcome (gates, threads); ``library_versions`` the versions
    that shape the model; ``code`` the package whose source trains it (every
    ``.py`` file in its folder), so a change to the training code is a new
    training too. The rows are hashed a column at a time, so no copy of them is
    made (at 2.4M customers the segmenter's two snapshots are about 2.2 GiB).
    """
    digest = hashlib.sha256()
    for frame in [rows] if isinstance(rows, pd.DataFrame) else rows:
        digest.update(json.dumps(list(map(str, frame.columns))).encode())
        digest.update(json.dumps([str(t) for t in frame.dtypes]).encode())
        digest.update(str(len(frame)).encode())
        for position in range(frame.shape[1]):
            column = _rounded(frame.iloc[:, position])
            digest.update(pd.util.hash_pandas_object(column, index=False).to_numpy().tobytes())
    digest.update(json.dumps(dict(settings), sort_keys=True, default=str).encode())
    digest.update(json.dumps(dict(library_versions), sort_keys=True).encode())
    package_dir = Path(code.__file__).parent
    for source in sorted(package_dir.rglob("*.py")):
        digest.update(source.relative_to(package_dir).as_posix().encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def newest_training_fingerprint(session, registry: object) -> str | None:
    """The fingerprint of the newest row of ``registry`` (a table name), or None.

    None also when the table predates the fingerprint column (its rows were
    trained by an older version, so nothing is known to match).
    """
    columns = [d[0] for d in session.execute(f"select * from {registry} limit 0").description]
    if FINGERPRINT_COLUMN not in columns:
        return None
    rows = session.execute(
        f"select {FINGERPRINT_COLUMN} from {registry} order by trained_at desc limit 1"
    ).fetchall()
    return rows[0][0] if rows else None


def already_trained(dbt, session, fingerprint: str) -> bool:
    """True when this incremental registry's newest row was trained on the same inputs."""
    if not dbt.is_incremental:
        return False
    return newest_training_fingerprint(session, dbt.this) == fingerprint


def no_new_rows(dbt, session):
    """An empty relation shaped like the registry: what a model returns to append nothing."""
    return session.sql(f"select * from {dbt.this} limit 0")
