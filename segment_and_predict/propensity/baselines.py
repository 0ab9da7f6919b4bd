"""Baselines the propensity model must beat: logistic regression and a recency/frequency rule.

Both take the encoded feature matrix produced by the model's
:class:`~segment_and_predict.propensity.data.FeatureEncoder` (numeric float64
columns, categorical columns with frozen levels), are fitted on the training
rows only and choose their yes/no threshold by F1 on the validation rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from segment_and_predict.propensity.metrics import best_f1_threshold

_MISSING = "__missing__"


def _categories_as_text(X: pd.DataFrame) -> np.ndarray:
    """Categorical columns as an object array with missing as its own level."""
    return np.column_stack(
        [X[c].astype(object).where(X[c].notna(), _MISSING).to_numpy() for c in X.columns]
    )


class LogisticRegressionBaseline:
    """Logistic regression on the model's features.

    Numeric: median imputation with missing-value indicators, then standard
    scaling. Categorical: one-hot with missing as a level; levels unseen in
    training are ignored (all-zero row).

    Parameters
    ----------
    C : float
        Inverse L2 regularisation strength.
    max_iter : int
        lbfgs iterations.

    Attributes
    ----------
    pipeline_ : sklearn.pipeline.Pipeline
    threshold_ : float
        Probability threshold maximising F1 on the validation rows.
    """

    name = "logistic_regression"

    def __init__(self, C: float = 1.0, max_iter: int = 2000):
        self.C = C
        self.max_iter = max_iter

    def fit(
        self, X: pd.DataFrame, y: np.ndarray, X_val: pd.DataFrame, y_val: np.ndarray
    ) -> LogisticRegressionBaseline:
        """Fit on encoded training rows ``X`` (n_rows, n_features); threshold on ``X_val``."""
        categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
        numeric = [c for c in X.columns if c not in categorical]
        transformers = []
        if numeric:
            transformers.append(
                (
                    "numeric",
                    make_pipeline(
                        SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
                    ),
                    numeric,
                )
            )
        if categorical:
            transformers.append(
                (
                    "categorical",
                    make_pipeline(
                        FunctionTransformer(_categories_as_text),
                        OneHotEncoder(handle_unknown="ignore"),
                    ),
                    categorical,
                )
            )
        # No n_jobs: the baseline runs single-threaded beside LightGBM's own threads.
        self.pipeline_ = Pipeline(
            [
                ("prepare", ColumnTransformer(transformers)),
                ("model", LogisticRegression(C=self.C, max_iter=self.max_iter)),
            ]
        )
        self.pipeline_.fit(X, np.asarray(y, dtype="float64"))
        self.threshold_ = best_f1_threshold(y_val, self.predict_probability(X_val))
        return self

    def predict_probability(self, X: pd.DataFrame) -> np.ndarray:
        """Purchase probability per row, shape (n_rows,)."""
        return self.pipeline_.predict_proba(X)[:, 1]


class RecencyFrequencyRule:
    """A hand-written rule: recent and frequent buyers buy again.

    The raw score is the mean over the available signals of each customer's
    position in the training distribution (empirical CDF, 0-1) of
    ``orders_90d``, ``orders_365d`` (higher is better) and
    ``-days_since_last_order`` (more recent is better); a missing value counts
    as the worst. Signals absent or all-null in training are skipped; with none
    left every customer gets the same score. A one-variable logistic calibration
    fitted on the training rows turns the score into a probability, which keeps
    the ranking (and AUC) of the rule and makes Brier and log loss comparable.

    Attributes
    ----------
    signals_ : list of str
        Signals used.
    reference_ : dict of str -> ndarray
        Sorted training values of each signal (oriented so higher = better).
    calibration_ : LogisticRegression or None
    threshold_ : float
    """

    name = "recency_frequency_rule"
    SIGNALS = (("orders_90d", 1.0), ("orders_365d", 1.0), ("days_since_last_order", -1.0))

    def _oriented(self, X: pd.DataFrame, name: str, sign: float) -> np.ndarray:
        values = sign * X[name].astype("float64").to_numpy()
        return np.where(np.isnan(values), -np.inf, values)

    def raw_score(self, X: pd.DataFrame) -> np.ndarray:
        """Rule score in [0, 1] per row, shape (n_rows,); no learning from ``X``."""
        if not self.signals_:
            return np.full(len(X), 0.5)
        parts = []
        for name, sign in self.SIGNALS:
            if name not in self.signals_:
                continue
            ref = self.reference_[name]
            position = np.searchsorted(ref, self._oriented(X, name, sign), side="right")
            parts.append(position / ref.size)
        return np.mean(parts, axis=0)

    def fit(
        self, X: pd.DataFrame, y: np.ndarray, X_val: pd.DataFrame, y_val: np.ndarray
    ) -> RecencyFrequencyRule:
        """Learn the reference distributions and calibration on ``X``; threshold on ``X_val``."""
        self.signals_ = [
            name
            for name, _ in self.SIGNALS
            if name in X.columns
            and not isinstance(X[name].dtype, pd.CategoricalDtype)
            and X[name].notna().any()
        ]
        self.reference_ = {
            name: np.sort(self._oriented(X, name, sign))
            for name, sign in self.SIGNALS
            if name in self.signals_
        }
        score = self.raw_score(X)
        self.calibration_ = None
        if np.ptp(score) > 0:
            self.calibration_ = LogisticRegression().fit(score.reshape(-1, 1), y)
        self.base_rate_ = float(np.mean(y))
        self.threshold_ = best_f1_threshold(y_val, self.predict_probability(X_val))
        return self

    def predict_probability(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated rule probability per row, shape (n_rows,)."""
        score = self.raw_score(X)
        if self.calibration_ is None:
            return np.full(len(X), self.base_rate_)
        return self.calibration_.predict_proba(score.reshape(-1, 1))[:, 1]
