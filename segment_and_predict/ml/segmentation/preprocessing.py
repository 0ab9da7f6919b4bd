"""Turn the customer_features table into the matrix the segmenter clusters.

Only a compact set of behavioural features enters the distance (recency,
frequency, spend, site engagement, discount use, email engagement and the
most varying category shares): with ~10 informative columns the segments stay
explainable and separate well, whereas all ~40 features would blur them.
Profile fields (region, channel, device, age band, loyalty tier) are kept out
of the distance and only describe the segments afterwards; see
``docs/segmentation.md`` for the reasoning.

Every learned value (imputation, centre, scale, which columns were dropped)
lives in plain lists and dicts so the whole preprocessor serialises to JSON
and the daily job can rebuild it without pickle.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd

from segment_and_predict.ml.labels import is_label_column, label_column

# Keys and the label: never clustering inputs, whatever a caller configures
# (any label window's column is refused, see is_forbidden).
FORBIDDEN_COLUMNS = ("customer_id", "as_of_date", label_column())

# Profile fields: used to describe segments, never in the distance.
PROFILE_CATEGORICALS = ("age_band", "region", "acquisition_channel", "device_type", "loyalty_tier")

CATEGORY_SHARE_PREFIX = "share_spend_"
# "other" is a catch-all, so an affinity to it would not explain anything.
EXCLUDED_CATEGORY_SHARES = ("share_spend_other",)

# A year of look-back: "no order in the window" is treated as at least this old.
RECENCY_CAP_DAYS = 365.0


@dataclass(frozen=True)
class FeatureSpec:
    """How one raw column becomes a clustering input.

    Parameters
    ----------
    column : str
        Column of customer_features.
    transform : {"identity", "log1p"}
        ``log1p`` for skewed counts and amounts, so a few very heavy buyers do
        not stretch the whole axis.
    impute_value : float
        Value (raw units) used where the column is null. Chosen per feature
        because null has a meaning here (no order, unsubscribed, ...).
    missing_indicator : bool
        Also emit a 0/1 column ``<column>_missing`` when nulls carry meaning
        (weighted ``INDICATOR_WEIGHT``).
    clip_min, clip_max : float or None
        Bounds applied in raw units before the transform.
    weight : float
        Multiplier applied after scaling (1.0 = plain standardised column).
    """

    column: str
    transform: str = "identity"
    impute_value: float = 0.0
    missing_indicator: bool = False
    clip_min: float | None = 0.0
    clip_max: float | None = None
    weight: float = 1.0

    def __post_init__(self) -> None:
        if self.transform not in ("identity", "log1p"):
            raise ValueError(f"Unknown transform {self.transform!r} for {self.column!r}.")
        if self.column in FORBIDDEN_COLUMNS or is_label_column(self.column):
            raise ValueError(f"{self.column!r} is a key or the label and cannot be a feature.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> FeatureSpec:
        return cls(**d)


def feature_specs_from_catalog(catalog: pd.DataFrame) -> tuple[FeatureSpec, ...]:
    """The segmenter's features as ``feature_catalog`` declares them, in column order.

    ``catalog`` has the columns feature, column_position and segmenter_json (the
    column's ``meta.segmenter`` in models/features/_features__models.yml, the one
    owner; null for a feature the segmenter leaves out). Category shares are added
    automatically (see SegmentPreprocessor).
    """
    chosen = catalog[catalog["segmenter_json"].notna()].sort_values("column_position")
    specs = []
    for feature, text in zip(chosen["feature"], chosen["segmenter_json"], strict=True):
        settings = json.loads(text) or {}
        allowed = {f.name for f in fields(FeatureSpec)} - {"column"}
        unknown = sorted(set(settings) - allowed) if isinstance(settings, dict) else ["?"]
        if unknown:
            raise ValueError(
                f"customer_features.{feature}: meta.segmenter has unknown keys {unknown}; it "
                f"takes {sorted(allowed)}"
            )
        specs.append(FeatureSpec(str(feature), **settings))
    if not specs:
        raise ValueError(
            "No feature of customer_features is declared for the segmenter: give at least "
            "one column a meta.segmenter in models/features/_features__models.yml"
        )
    return tuple(specs)


# Weight of each missing indicator and of each category share (see above and
# docs/segmentation.md: binary or near-binary columns get half weight).
INDICATOR_WEIGHT = 0.5
CATEGORY_WEIGHT = 0.5


def numeric_column(features: pd.DataFrame, column: str) -> np.ndarray:
    """Return ``features[column]`` as float64 with NaN for null/unparseable/inf.

    Shape (n_rows,). Booleans become 0/1. A missing column gives all NaN.
    """
    n = len(features)
    if column not in features.columns:
        return np.full(n, np.nan)
    s = features[column]
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        s = pd.to_numeric(s.astype("string"), errors="coerce")
    values = s.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    values[~np.isfinite(values)] = np.nan
    return values


def _apply_spec(spec: FeatureSpec, raw: np.ndarray) -> np.ndarray:
    """Clip, impute and transform raw values (n,) -> unscaled design values (n,)."""
    x = np.where(np.isnan(raw), spec.impute_value, raw)
    if spec.clip_min is not None or spec.clip_max is not None:
        x = np.clip(x, spec.clip_min, spec.clip_max)
    if spec.transform == "log1p":
        x = np.log1p(np.maximum(x, 0.0))
    return x


def _inverse_transform(transform: str, x: np.ndarray) -> np.ndarray:
    return np.expm1(x) if transform == "log1p" else x


def _forward_transform(transform: str, x: np.ndarray) -> np.ndarray:
    return np.log1p(np.maximum(x, 0.0)) if transform == "log1p" else x


class SegmentPreprocessor:
    """Select, impute, transform and scale clustering features.

    Parameters
    ----------
    feature_specs : sequence of FeatureSpec, optional
        Behavioural features to use (:func:`feature_specs_from_catalog`).
    n_category_features : int, default=2
        How many ``share_spend_*`` columns to add, picked as those with the
        largest variance in the training data (the categories that split the
        base most). 0 disables category affinity.
    clip_scaled : float, default=5.0
        Scaled values are clipped to ``[-clip_scaled, clip_scaled]`` so that a
        handful of extreme customers cannot pull a centroid of their own.

    Attributes
    ----------
    columns_ : list of dict
        One dict per output column, in output order: ``name``, ``source``
        (raw column), ``kind`` ("value" or "missing_indicator"), ``transform``,
        ``impute_value``, ``clip_min``, ``clip_max``, ``center``, ``scale``,
        ``weight``. ``center``/``scale`` are in transformed units.
    feature_names_out_ : list of str
    dropped_features_ : dict of str -> str
        Candidate columns not used and why ("column absent", "all null",
        "constant").
    """

    def __init__(
        self,
        feature_specs: tuple[FeatureSpec, ...] | list[FeatureSpec],
        *,
        n_category_features: int = 2,
        clip_scaled: float = 5.0,
    ) -> None:
        self.feature_specs = feature_specs
        self.n_category_features = n_category_features
        self.clip_scaled = clip_scaled

    # ------------------------------------------------------------------ fit
    def _category_specs(self, features: pd.DataFrame) -> list[FeatureSpec]:
        if self.n_category_features <= 0:
            return []
        variances = {}
        for col in features.columns:
            if not str(col).startswith(CATEGORY_SHARE_PREFIX) or col in EXCLUDED_CATEGORY_SHARES:
                continue
            raw = numeric_column(features, col)
            if np.isnan(raw).all():
                continue
            # Null = no spend: no affinity to any category.
            variances[col] = float(np.var(np.clip(np.nan_to_num(raw, nan=0.0), 0.0, 1.0)))
        ranked = sorted(variances, key=lambda c: (-variances[c], c))
        return [
            FeatureSpec(col, impute_value=0.0, clip_max=1.0, weight=CATEGORY_WEIGHT)
            for col in ranked[: self.n_category_features]
            if variances[col] > 0.0
        ]

    def fit(self, features: pd.DataFrame, y=None) -> SegmentPreprocessor:
        """Learn columns, imputation and scaling from ``features`` (customers x columns)."""
        if len(features) == 0:
            raise ValueError("Cannot fit the segment preprocessor on an empty table.")
        if not self.feature_specs:
            raise ValueError(
                "The segment preprocessor needs its features (feature_specs_from_catalog)."
            )
        specs = list(self.feature_specs)
        specs += [
            s for s in self._category_specs(features) if s.column not in {t.column for t in specs}
        ]
        columns: list[dict] = []
        dropped: dict[str, str] = {}
        for spec in specs:
            raw = numeric_column(features, spec.column)
            if spec.column not in features.columns:
                dropped[spec.column] = "column absent"
                continue
            if np.isnan(raw).all():
                dropped[spec.column] = "all null"
                continue
            base = {
                "source": spec.column,
                "transform": spec.transform,
                "impute_value": float(spec.impute_value),
                "clip_min": spec.clip_min,
                "clip_max": spec.clip_max,
                "weight": float(spec.weight),
            }
            x = _apply_spec(spec, raw)
            center, scale = float(x.mean()), float(x.std())
            if scale <= 1e-12:
                dropped[spec.column] = "constant"
            else:
                columns.append(
                    {"name": spec.column, "kind": "value", **base, "center": center, "scale": scale}
                )
            if spec.missing_indicator:
                name = f"{spec.column}_missing"
                m = np.isnan(raw).astype(np.float64)
                mc, ms = float(m.mean()), float(m.std())
                if ms <= 1e-12:
                    dropped[name] = "constant"
                else:
                    columns.append(
                        {
                            "name": name,
                            "kind": "missing_indicator",
                            **base,
                            "transform": "identity",
                            "center": mc,
                            "scale": ms,
                            "weight": INDICATOR_WEIGHT,
                        }
                    )
        for col in features.columns:
            col = str(col)
            if (
                col.startswith(CATEGORY_SHARE_PREFIX)
                and col not in EXCLUDED_CATEGORY_SHARES
                and self.n_category_features > 0
                and np.isnan(numeric_column(features, col)).all()
            ):
                dropped.setdefault(col, "all null")
        if not columns:
            raise ValueError(
                "No usable clustering feature: every candidate column is absent, all null or "
                f"constant ({', '.join(f'{k}: {v}' for k, v in dropped.items())})."
            )
        self.columns_ = columns
        self.dropped_features_ = dropped
        self.feature_names_out_ = [c["name"] for c in columns]
        return self

    # ------------------------------------------------------------ transform
    def _check_fitted(self) -> None:
        if not hasattr(self, "columns_"):
            raise ValueError("SegmentPreprocessor is not fitted yet; call fit() first.")

    def transform_unscaled(self, features: pd.DataFrame) -> np.ndarray:
        """Impute and transform, before scaling: (n_rows, n_features_out) float64."""
        self._check_fitted()
        out = np.empty((len(features), len(self.columns_)), dtype=np.float64)
        cache: dict[str, np.ndarray] = {}
        for j, col in enumerate(self.columns_):
            raw = cache.setdefault(col["source"], numeric_column(features, col["source"]))
            if col["kind"] == "missing_indicator":
                out[:, j] = np.isnan(raw)
            else:
                out[:, j] = _apply_spec(_spec_of(col), raw)
        return out

    def scale(self, unscaled: np.ndarray) -> np.ndarray:
        """Unscaled design (n, d) -> scaled, weighted and clipped (n, d)."""
        center = np.array([c["center"] for c in self.columns_])
        scale = np.array([c["scale"] for c in self.columns_])
        weight = np.array([c["weight"] for c in self.columns_])
        z = (unscaled - center) / scale * weight
        return np.clip(z, -self.clip_scaled * weight, self.clip_scaled * weight)

    def transform(self, features: pd.DataFrame) -> np.ndarray:
        """customer_features rows -> scaled matrix (n_rows, n_features_out) float64."""
        return self.scale(self.transform_unscaled(features))

    def fit_transform(self, features: pd.DataFrame, y=None) -> np.ndarray:
        return self.fit(features).transform(features)

    def scaled_to_original(self, Z: np.ndarray) -> dict[str, np.ndarray]:
        """Scaled points (m, d) -> {output column: values in raw units (m,)}.

        Indicators come back as the share of missing values. Used to compare
        segment centroids of two models in one space.
        """
        self._check_fitted()
        Z = np.atleast_2d(Z)
        out = {}
        for j, col in enumerate(self.columns_):
            unscaled = Z[:, j] / col["weight"] * col["scale"] + col["center"]
            out[col["name"]] = _inverse_transform(col["transform"], unscaled)
        return out

    def original_to_scaled(self, values: dict[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
        """Inverse of :meth:`scaled_to_original` on the columns present in ``values``.

        Returns (m, d_common) scaled values and the names of those columns.
        """
        self._check_fitted()
        names, cols = [], []
        for col in self.columns_:
            if col["name"] not in values:
                continue
            x = _forward_transform(col["transform"], np.asarray(values[col["name"]], float))
            z = (x - col["center"]) / col["scale"] * col["weight"]
            cols.append(
                np.clip(z, -self.clip_scaled * col["weight"], self.clip_scaled * col["weight"])
            )
            names.append(col["name"])
        m = len(next(iter(values.values()))) if values else 0
        return (np.column_stack(cols) if cols else np.empty((m, 0))), names

    # ---------------------------------------------------------------- JSON
    def to_dict(self) -> dict:
        """JSON-serialisable state (parameters and everything learned)."""
        self._check_fitted()
        return {
            "feature_specs": [s.to_dict() for s in self.feature_specs],
            "n_category_features": self.n_category_features,
            "clip_scaled": self.clip_scaled,
            "columns": [dict(c) for c in self.columns_],
            "dropped_features": dict(self.dropped_features_),
        }

    @classmethod
    def from_dict(cls, d: dict) -> SegmentPreprocessor:
        obj = cls(
            [FeatureSpec.from_dict(s) for s in d["feature_specs"]],
            n_category_features=d["n_category_features"],
            clip_scaled=d["clip_scaled"],
        )
        obj.columns_ = [dict(c) for c in d["columns"]]
        obj.dropped_features_ = dict(d["dropped_features"])
        obj.feature_names_out_ = [c["name"] for c in obj.columns_]
        return obj


def _spec_of(col: dict) -> FeatureSpec:
    return FeatureSpec(
        col["source"],
        transform=col["transform"],
        impute_value=col["impute_value"],
        clip_min=col["clip_min"],
        clip_max=col["clip_max"],
    )
