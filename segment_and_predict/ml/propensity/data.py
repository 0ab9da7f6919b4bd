"""Input checks, feature encoding and the out-of-time split of ``customer_features``.

The propensity code receives the ``customer_features`` table as a pandas
DataFrame with one row per customer and snapshot date (``as_of_date``).
Labelled snapshots carry the label (``purchased_next_<N>d`` for an N-day
window, named by :func:`segment_and_predict.ml.labels.label_column`); the
scoring snapshot has it null because its window has not been observed yet.
Functions that read the label take its column name as ``label``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from segment_and_predict.data.values import AS_OF_DATE, as_text, to_float
from segment_and_predict.ml.labels import is_label_column, label_column

CUSTOMER_ID = "customer_id"
# The label of the default window; a build with another label_window_days
# passes its own name (the dbt models read it from config).
LABEL = label_column()
KEY_COLUMNS = (CUSTOMER_ID, AS_OF_DATE)

# TEST = latest labelled snapshot, VALIDATION = the one before, TRAIN = the
# rest, and TRAIN needs at least one snapshot.
MIN_LABELLED_SNAPSHOTS = 3

# Categorical codes are frozen at training; anything else becomes missing.
MISSING_LEVEL_TEXT = "missing"


def check_columns(frame: pd.DataFrame, *, require_label: bool, label: str = LABEL) -> None:
    """Raise ValueError when a key column (or the label ``label``, if required) is absent."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"features must be a pandas DataFrame, got {type(frame).__name__}")
    needed = [*KEY_COLUMNS, label] if require_label else list(KEY_COLUMNS)
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(
            f"customer_features is missing required column(s) {missing}; "
            f"it needs the keys {list(KEY_COLUMNS)}"
            + (f" and the label {label!r}" if require_label else "")
        )
    n_dup = int(frame.duplicated(list(KEY_COLUMNS)).sum())
    if n_dup:
        raise ValueError(
            f"customer_features has {n_dup} duplicated ({CUSTOMER_ID}, {AS_OF_DATE}) rows; "
            "the grain must be one row per customer and snapshot"
        )


def label_as_float(label: pd.Series) -> np.ndarray:
    """Labels as a float array of 0.0/1.0, shape (n_rows,). Nulls are not allowed here."""
    name = label.name if isinstance(label.name, str) else LABEL
    if label.isna().any():
        raise ValueError(f"{name} has nulls in rows that should be labelled")
    values = pd.to_numeric(label.astype("float64"), errors="raise").to_numpy(dtype="float64")
    if not np.isin(values, (0.0, 1.0)).all():
        raise ValueError(f"{name} must be boolean (or 0/1); found other values")
    return values


def iso_date(value: object) -> str:
    """ISO-8601 date text for an ``as_of_date`` value (date, datetime or Timestamp)."""
    if isinstance(value, datetime | pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return pd.Timestamp(value).date().isoformat()


@dataclass(frozen=True)
class SnapshotSplit:
    """Out-of-time split of the labelled rows of ``customer_features``.

    Each frame keeps all columns of the input (keys, label, features).
    """

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    train_dates: tuple
    validation_date: object
    test_date: object


def split_snapshots(frame: pd.DataFrame, label: str = LABEL) -> SnapshotSplit:
    """Split labelled rows by snapshot date: TEST = latest, VALIDATION = previous, TRAIN = rest.

    Rows with a null label (the scoring snapshot) are ignored. Raises ValueError when
    there are fewer than ``MIN_LABELLED_SNAPSHOTS`` labelled snapshot dates.
    """
    check_columns(frame, require_label=True, label=label)
    # Masks over the input, not a copy of its labelled rows first: each part is the
    # only copy made (at 2.4M customers the training rows are 3M x 55 columns).
    labelled = frame[label].notna().to_numpy()
    if not labelled.any():
        raise ValueError(
            f"customer_features has no labelled rows ({label} is null everywhere); "
            "training needs snapshots whose label window has been observed"
        )
    snapshot = frame[AS_OF_DATE]
    dates = sorted(snapshot[labelled].unique())
    if len(dates) < MIN_LABELLED_SNAPSHOTS:
        raise ValueError(
            f"found {len(dates)} labelled snapshot date(s) "
            f"({', '.join(iso_date(d) for d in dates)}) but the out-of-time split needs at "
            f"least {MIN_LABELLED_SNAPSHOTS}: train (>= 1), validation (1) and test (1)"
        )
    test_date, validation_date = dates[-1], dates[-2]
    train_dates = tuple(dates[:-2])
    return SnapshotSplit(
        train=frame[labelled & snapshot.isin(train_dates).to_numpy()],
        validation=frame[labelled & (snapshot == validation_date).to_numpy()],
        test=frame[labelled & (snapshot == test_date).to_numpy()],
        train_dates=train_dates,
        validation_date=validation_date,
        test_date=test_date,
    )


def _column_kind(series: pd.Series) -> str:
    """'numeric', 'boolean', 'categorical' or 'unsupported' for a raw feature column."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
        return "unsupported"
    if pd.api.types.is_string_dtype(dtype) or dtype == np.dtype(object):
        # Object columns come from drivers that return Python values; a nullable
        # BOOLEAN arrives as object with True/False/None.
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        if inferred == "boolean":
            return "boolean"
        if inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
            return "numeric"
        if inferred in ("string", "empty", "categorical"):
            return "categorical"
    return "unsupported"


def _arrow_category_codes(series: pd.Series, levels: list[str]) -> np.ndarray | None:
    """Position of each value in ``levels`` (-1: null or not a level), computed by
    Arrow, for Arrow-backed string columns (what DuckDB returns); None otherwise.

    The same codes as matching :func:`_as_text` against the levels, without a
    Python str per row (~10x faster on the scoring snapshot).
    """
    dtype = series.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return None
    values = pa.array(series)
    value_set = pa.array(levels, type=values.type)
    return pc.index_in(values, value_set=value_set).fill_null(-1).to_numpy()


# High-cardinality categories (e.g. one region per customer) are capped at fit:
# a categorical feature with more than MAX_CATEGORY_LEVELS distinct values keeps
# only its most frequent values that each hold at least MIN_CATEGORY_SHARE of the
# training rows (at most MAX_CATEGORY_LEVELS of them); every other value, at
# training and at scoring, becomes the one level OTHER_LEVEL. The kept levels and
# OTHER_LEVEL (last) are stored with the model, so serving and the drift
# reference (drift.model_reference) use the same cap. Without it such a
# feature is noise for the model and its drift is huge in the very build that
# trained it (each new customer's value is one the model never saw).
MAX_CATEGORY_LEVELS = 20
MIN_CATEGORY_SHARE = 0.01
OTHER_LEVEL = "(other)"


def _capped_levels(text: pd.Series) -> list[str] | None:
    """The stored levels of a capped categorical column, or None when it needs no cap."""
    counts = text.value_counts(dropna=True)
    if len(counts) <= MAX_CATEGORY_LEVELS:
        return None
    # most frequent first, ties by value, so the cap is a function of the data
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    total = int(text.size)
    kept = [
        value for value, rows in ranked[:MAX_CATEGORY_LEVELS] if rows >= MIN_CATEGORY_SHARE * total
    ]
    return [*sorted(kept), OTHER_LEVEL]


def is_capped(levels: list[str]) -> bool:
    """True for the levels of a capped feature (the values not kept are OTHER_LEVEL)."""
    return bool(levels) and levels[-1] == OTHER_LEVEL


class FeatureEncoder:
    """Choose the usable feature columns and encode them for LightGBM.

    Parameters
    ----------
    exclude : sequence of str
        Columns never used as features (in addition to the keys and any label
        column, whatever its window).

    Attributes
    ----------
    features_ : list of str
        Features used, in model column order.
    numeric_features_ : list of str
        Numeric (and boolean, encoded 0/1) features, encoded as float64.
    categorical_levels_ : dict of str -> list of str
        For each categorical feature the sorted category levels seen in the fit
        rows. They are frozen: at transform time any other value becomes missing,
        so a new category never shifts the codes of known ones. A feature with
        more than MAX_CATEGORY_LEVELS values is capped: its levels are the kept
        frequent values and then OTHER_LEVEL, which every other value (seen in
        training or not) becomes.
    dropped_features_ : dict of str -> str
        Candidate features not used, with the reason.
    """

    def __init__(self, exclude: tuple[str, ...] | list[str] = ()):
        self.exclude = exclude

    def fit(self, frame: pd.DataFrame) -> FeatureEncoder:
        """Learn features and category levels from the training rows ``frame``."""
        excluded = set(self.exclude)
        never = {*KEY_COLUMNS, *(name for name in frame.columns if is_label_column(name))}
        self.numeric_features_: list[str] = []
        self.categorical_levels_: dict[str, list[str]] = {}
        self.dropped_features_: dict[str, str] = {}
        for name in frame.columns:
            if name in never:
                continue
            if name in excluded:
                self.dropped_features_[name] = "excluded"
                continue
            series = frame[name]
            kind = _column_kind(series)
            if kind == "unsupported":
                self.dropped_features_[name] = f"unsupported dtype {series.dtype}"
                continue
            if series.isna().all():
                self.dropped_features_[name] = "all null in training rows"
                continue
            if kind == "categorical":
                text = as_text(series)
                # Null-or-one-value columns are kept: the missingness pattern can
                # carry signal (e.g. email rates are null for unsubscribed customers).
                if text.nunique(dropna=False) <= 1:
                    self.dropped_features_[name] = "constant in training rows"
                    continue
                capped = _capped_levels(text)
                self.categorical_levels_[name] = (
                    capped if capped is not None else sorted(text.dropna().unique().tolist())
                )
            else:
                if to_float(series).nunique(dropna=False) <= 1:
                    self.dropped_features_[name] = "constant in training rows"
                    continue
                self.numeric_features_.append(name)
        used = {*self.numeric_features_, *self.categorical_levels_}
        self.features_ = [n for n in frame.columns if n in used]
        if not self.features_:
            raise ValueError(
                "no usable feature columns: every candidate is all-null, constant, excluded "
                f"or of an unsupported type ({self.dropped_features_})"
            )
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Encoded feature matrix, shape (n_rows, len(features_)).

        Numeric columns are float64 with NaN for missing; categorical columns are
        pandas ``category`` with the frozen levels (unseen values -> NaN).
        """
        missing = [n for n in self.features_ if n not in frame.columns]
        if missing:
            raise ValueError(f"features frame lacks column(s) the model was trained on: {missing}")
        columns = {}
        for name in self.features_:
            if name in self.categorical_levels_:
                levels = self.categorical_levels_[name]
                codes = _arrow_category_codes(frame[name], levels)
                if codes is not None:
                    if is_capped(levels):
                        codes = np.where(
                            (codes < 0) & frame[name].notna().to_numpy(), len(levels) - 1, codes
                        )
                    categorical = pd.Categorical.from_codes(codes, categories=levels)
                else:
                    text = as_text(frame[name])
                    other = OTHER_LEVEL if is_capped(levels) else None
                    text = text.where(text.isin(levels) | text.isna(), other)
                    categorical = pd.Categorical(text, categories=levels)
                columns[name] = pd.Series(categorical, index=frame.index)
            else:
                columns[name] = to_float(frame[name])
        return pd.DataFrame(columns, index=frame.index)

    def unseen_categories(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Category values in ``frame`` that the fit never saw, with how many rows hold each.

        These are exactly the values :meth:`transform` turns into missing. Returns
        the columns feature, category_value and rows (one row per feature and value,
        most frequent first); empty when every value is known.
        """
        counts = []
        for name, levels in self.categorical_levels_.items():
            if name not in frame.columns or is_capped(levels):
                continue  # a capped feature has no unseen values: they are OTHER_LEVEL
            text = as_text(frame[name]).dropna()
            unseen = text[~text.isin(levels)]
            for value, rows in unseen.value_counts(sort=False).items():
                counts.append((name, str(value), int(rows)))
        out = pd.DataFrame(counts, columns=["feature", "category_value", "rows"])
        out = out.astype({"feature": "string", "category_value": "string", "rows": "int64"})
        return out.sort_values(
            ["rows", "feature", "category_value"], ascending=[False, True, True], kind="stable"
        ).reset_index(drop=True)

    def fit_transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.fit(frame).transform(frame)

    def to_dict(self) -> dict:
        """Learned state as JSON-serialisable dict."""
        return {
            "exclude": list(self.exclude),
            "features": list(self.features_),
            "numeric_features": list(self.numeric_features_),
            "categorical_levels": {k: list(v) for k, v in self.categorical_levels_.items()},
            "dropped_features": dict(self.dropped_features_),
        }

    @classmethod
    def from_dict(cls, state: dict) -> FeatureEncoder:
        encoder = cls(exclude=tuple(state.get("exclude", ())))
        encoder.features_ = list(state["features"])
        encoder.numeric_features_ = list(state["numeric_features"])
        encoder.categorical_levels_ = {k: list(v) for k, v in state["categorical_levels"].items()}
        encoder.dropped_features_ = dict(state.get("dropped_features", {}))
        return encoder
