"""Column values as the models read them: category text and numbers.

One owner for the conversions the propensity encoder and the drift monitoring
both apply, so a value is binned for monitoring exactly as the model saw it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

AS_OF_DATE = "as_of_date"


def as_text(series: pd.Series) -> pd.Series:
    """Category values as an object Series of Python str, nulls as None."""
    dtype = series.dtype
    values = series.astype(object)
    already_text = isinstance(dtype, pd.StringDtype) or (
        isinstance(dtype, pd.CategoricalDtype)
        and isinstance(dtype.categories.dtype, pd.StringDtype | np.dtypes.ObjectDType)
        and pd.api.types.infer_dtype(dtype.categories, skipna=True) == "string"
    )
    if not already_text:
        values = values.map(lambda v: v if isinstance(v, str) else str(v))
    return values.where(series.notna(), None)


def to_float(series: pd.Series) -> pd.Series:
    """Numeric or boolean column as float64 (True -> 1.0), nulls as NaN."""
    return series.astype("float64")
