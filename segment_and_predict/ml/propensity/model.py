"""The purchase-propensity model: LightGBM on encoded ``customer_features``.

Persistence is text only (``to_json`` / ``from_json``): the LightGBM model
text plus the feature encoding and the threshold. Nothing is pickled, so a
stored model can be read, diffed and loaded by any later version of the code.
"""

from __future__ import annotations

import json
import platform

import lightgbm as lgb
import numpy as np
import pandas as pd
import sklearn

from segment_and_predict.ml.propensity.data import FeatureEncoder
from segment_and_predict.ml.propensity.metrics import best_f1_threshold
from segment_and_predict.ml.propensity.treeshap import GroupedTreeShap, numeric_matrix

FORMAT = "segment_and_predict.ml.propensity.PropensityModel/1"

# Shallow trees: exact TreeSHAP reasons cost grows with trees x leaves x depth^2.
# On the default 240K data depth 4 / 15 leaves scored with LightGBM's own
# TreeSHAP in ~40 s instead of ~110 s (depth 6 / 31 leaves) at the same test
# ROC-AUC (0.8755 vs 0.8758) and PR-AUC (0.761 vs 0.761); .treeshap then made
# the exact reasons several times faster again.
# Early stopping waits 20 rounds, not 50: the validation loss is flat near its
# minimum, so on the default 240K data it stops after 211 rounds (191 trees,
# validation log loss 0.37600) instead of 325 (275 trees, 0.37593) with the
# same test ROC-AUC and PR-AUC (0.8754, 0.7606) and F1 0.6985 vs 0.6992; on
# 2.5%-40% customer samples the two settings agree to 1e-4 in ROC-AUC and PR-AUC.
DEFAULT_PARAMS: dict = {
    "objective": "binary",
    "metric": "binary_logloss",
    "learning_rate": 0.15,
    "num_leaves": 15,
    "max_depth": 4,
    "min_child_samples": 100,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_boost_round": 1000,
    "early_stopping_rounds": 20,
    "verbose": -1,
}

# Training-loop settings that lgb.train takes as arguments, not booster params.
_LOOP_KEYS = ("num_boost_round", "early_stopping_rounds")


def library_versions() -> dict:
    """Versions of the libraries that shape the model, for the registry."""
    from segment_and_predict import __version__

    return {
        "python": platform.python_version(),
        "lightgbm": lgb.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "segment_and_predict": __version__,
    }


class PropensityModel:
    """LightGBM binary classifier for "buys in the next 30 days".

    Categorical features use LightGBM's native handling with category levels
    frozen at fit time (see :class:`FeatureEncoder`); missing values use its
    native missing-value handling. Training is reproducible: fixed seed,
    ``deterministic=True``, ``force_row_wise=True`` and an explicit thread count.

    Parameters
    ----------
    params : dict, optional
        Overrides of :data:`DEFAULT_PARAMS` (booster params plus
        ``num_boost_round`` and ``early_stopping_rounds``).
    num_threads : int
        LightGBM threads for training and prediction, and the worker threads of
        the grouped TreeSHAP (:meth:`probability_and_contributions`).
    seed : int
        Seed for LightGBM's bagging and feature sampling.
    exclude_features : sequence of str
        Columns never used as features.

    Attributes
    ----------
    encoder_ : FeatureEncoder
        Features used, dropped features and frozen category levels.
    booster_ : lightgbm.Booster
        The booster truncated at the best iteration (rebuilt from its own model
        text, so the in-memory model is exactly what ``to_json`` stores).
    best_iteration_ : int
        Boosting rounds kept (chosen by early stopping on the validation rows).
    threshold_ : float
        Probability threshold for the yes/no flag, maximising F1 on validation.
    params_ : dict
        All params used, including the training-loop settings.
    """

    def __init__(
        self,
        params: dict | None = None,
        *,
        num_threads: int = 2,
        seed: int = 42,
        exclude_features: tuple[str, ...] | list[str] = (),
    ):
        self.params = params
        self.num_threads = num_threads
        self.seed = seed
        self.exclude_features = exclude_features

    def resolved_params(self) -> dict:
        """DEFAULT_PARAMS updated by ``params``, then seed/threads/determinism settings."""
        params = {**DEFAULT_PARAMS, **(self.params or {})}
        # The explicit arguments win so that thread count and seed are never
        # silently taken from a params dict copied from elsewhere.
        # Row-wise histograms: the same trees as column-wise (tested), and on
        # ~800K rows x 43 features about 15% faster per boosting round.
        params.pop("force_col_wise", None)
        params.update(
            seed=self.seed,
            num_threads=int(self.num_threads),
            deterministic=True,
            force_row_wise=True,
        )
        return params

    def fit(
        self,
        features: pd.DataFrame,
        y: np.ndarray,
        validation_features: pd.DataFrame,
        validation_y: np.ndarray,
        *,
        encoder: FeatureEncoder | None = None,
    ) -> PropensityModel:
        """Fit on the training rows; early-stop and choose the threshold on validation rows.

        ``features`` / ``validation_features`` are raw ``customer_features`` rows
        (extra columns such as keys and label are ignored); ``y`` / ``validation_y``
        are 0/1 arrays of shape (n_rows,).

        ``encoder`` is a FeatureEncoder already fitted on the training rows (with
        this model's ``exclude_features``); then both frames may also be its
        encoded output (``encoder.transform``), which is used as is, so a caller
        that needs the encoded rows anyway (the baselines) encodes them once.
        """
        y = np.asarray(y, dtype="float64")
        validation_y = np.asarray(validation_y, dtype="float64")
        if len(np.unique(y)) < 2:
            raise ValueError(
                "the training rows have a single class "
                f"({'all buyers' if y.size and y[0] == 1 else 'no buyers'}); "
                "the model needs buyers and non-buyers"
            )
        if len(np.unique(validation_y)) < 2:
            raise ValueError(
                "the validation rows have a single class; early stopping and the "
                "threshold choice need buyers and non-buyers"
            )
        self.params_ = self.resolved_params()
        booster_params = {k: v for k, v in self.params_.items() if k not in _LOOP_KEYS}

        exclude = tuple(self.exclude_features)
        if encoder is None:
            encoder = FeatureEncoder(exclude=exclude).fit(features)
        elif tuple(encoder.exclude) != exclude:
            raise ValueError(
                f"the encoder excludes {list(encoder.exclude)} but the model {list(exclude)}"
            )
        self.encoder_ = encoder
        X = self.encode(features)
        X_val = self.encode(validation_features)
        categorical = list(self.encoder_.categorical_levels_)
        train_set = lgb.Dataset(
            X, label=y, categorical_feature=categorical, free_raw_data=True, params=booster_params
        )
        valid_set = lgb.Dataset(
            X_val, label=validation_y, categorical_feature=categorical, reference=train_set
        )
        booster = lgb.train(
            booster_params,
            train_set,
            num_boost_round=int(self.params_["num_boost_round"]),
            valid_sets=[valid_set],
            valid_names=["validation"],
            callbacks=[
                lgb.early_stopping(
                    int(self.params_["early_stopping_rounds"]),
                    first_metric_only=True,
                    verbose=False,
                )
            ],
        )
        self.best_iteration_ = int(booster.best_iteration or booster.current_iteration())
        self.booster_ = lgb.Booster(
            model_str=booster.model_to_string(num_iteration=self.best_iteration_)
        )
        self.threshold_ = best_f1_threshold(validation_y, self.predict_probability(X_val))
        return self

    def refitted(self, features: pd.DataFrame, y: np.ndarray) -> PropensityModel:
        """A copy fitted again on ``features`` with the choices this model made.

        The number of trees (``best_iteration_``), the threshold, the encoder
        and every param stay as chosen on the out-of-time validation rows; only
        the trees are grown again, on ``features`` (typically every labelled
        snapshot, the validation and test ones included) without early stopping.
        ``features`` is raw ``customer_features`` rows or this model's encoded
        matrix; ``y`` the 0/1 labels, shape (n_rows,).
        """
        y = np.asarray(y, dtype="float64")
        if len(np.unique(y)) < 2:
            raise ValueError("the refit rows have a single class; refitting needs both")
        booster_params = {k: v for k, v in self.params_.items() if k not in _LOOP_KEYS}
        train_set = lgb.Dataset(
            self.encode(features),
            label=y,
            categorical_feature=list(self.encoder_.categorical_levels_),
            free_raw_data=True,
            params=booster_params,
        )
        booster = lgb.train(booster_params, train_set, num_boost_round=self.best_iteration_)
        refit = PropensityModel(
            self.params,
            num_threads=self.num_threads,
            seed=self.seed,
            exclude_features=self.exclude_features,
        )
        refit.params_ = dict(self.params_)
        refit.encoder_ = self.encoder_
        refit.best_iteration_ = self.best_iteration_
        refit.threshold_ = self.threshold_
        refit.booster_ = lgb.Booster(model_str=booster.model_to_string())
        return refit

    # -- prediction -------------------------------------------------------------

    def encode(self, features: pd.DataFrame) -> pd.DataFrame:
        """Encoded feature matrix (see FeatureEncoder.transform) for raw or encoded rows."""
        # Already-encoded matrices (from FeatureEncoder.transform) pass through.
        if (
            list(features.columns) == self.encoder_.features_
            and all(
                isinstance(features[c].dtype, pd.CategoricalDtype)
                and list(features[c].cat.categories) == levels
                for c, levels in self.encoder_.categorical_levels_.items()
            )
            and all(features[c].dtype == "float64" for c in self.encoder_.numeric_features_)
        ):
            return features
        return self.encoder_.transform(features)

    def predict_probability(self, features: pd.DataFrame) -> np.ndarray:
        """Purchase probability per row, shape (n_rows,), values in (0, 1).

        ``features`` is raw ``customer_features`` rows or an already encoded matrix.
        """
        X = self.encode(features)
        return self.booster_.predict(numeric_matrix(X), num_threads=int(self.num_threads))

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """scikit-learn's shape: (n_rows, 2), the probabilities of no purchase and purchase."""
        buys = self.predict_probability(features)
        return np.column_stack([1.0 - buys, buys])

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Yes/no buyer flag per row (probability >= ``threshold_``), shape (n_rows,)."""
        return self.predict_probability(features) >= self.threshold_

    def contributions(self, features: pd.DataFrame) -> np.ndarray:
        """SHAP contributions in log-odds, shape (n_rows, n_features + 1).

        Column j < n_features belongs to ``features_[j]``; the last column is the
        expected value. Each row sums to the raw (log-odds) score. The values are
        LightGBM's TreeSHAP (``pred_contrib=True``), computed once per group of
        rows that decide alike in a tree (:mod:`.treeshap`), which is many times faster.
        """
        return self.probability_and_contributions(features)[1]

    def probability_and_contributions(
        self, features: pd.DataFrame
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`predict_probability` and :meth:`contributions` of the same rows, at
        about the cost of the contributions alone.

        The probability is identical to :meth:`predict_probability` (bit for bit):
        it comes from the leaf value of each tree for each group of rows, summed
        in tree order as LightGBM sums them (see :mod:`.treeshap`).
        """
        X = self.encode(features)
        explainer = self._treeshap()
        contributions, raw_score = explainer.explain(numeric_matrix(X), int(self.num_threads))
        probability = explainer.probability(raw_score)
        if probability is None:  # not plain binary logistic: let LightGBM convert
            probability = self.predict_probability(X)
        return probability, contributions

    def _treeshap(self) -> GroupedTreeShap:
        """The TreeSHAP explainer of ``booster_``, built once (it reads every tree)."""
        cached = getattr(self, "_treeshap_cache", None)
        if cached is None or cached.booster is not self.booster_:
            cached = GroupedTreeShap(self.booster_)
            self._treeshap_cache = cached
        return cached

    @property
    def features_(self) -> list[str]:
        """Features used, in model column order."""
        return list(self.encoder_.features_)

    # -- persistence ------------------------------------------------------------

    def to_json(self) -> str:
        """The fitted model as JSON text (LightGBM model text + encoding + threshold)."""
        state = {
            "format": FORMAT,
            "booster": self.booster_.model_to_string(),
            "encoder": self.encoder_.to_dict(),
            "features": self.features_,
            "categorical_levels": self.encoder_.categorical_levels_,
            "threshold": self.threshold_,
            "best_iteration": self.best_iteration_,
            "params": self.params_,
            "num_threads": int(self.num_threads),
            "seed": self.seed,
            "library_versions": library_versions(),
        }
        return json.dumps(state, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> PropensityModel:
        """Rebuild a model from :meth:`to_json` text; predictions are identical."""
        state = json.loads(text)
        if state.get("format") != FORMAT:
            raise ValueError(f"not a PropensityModel JSON (format={state.get('format')!r})")
        model = cls(
            params=state["params"],
            num_threads=state["num_threads"],
            seed=state["seed"],
            exclude_features=tuple(state["encoder"].get("exclude", ())),
        )
        model.encoder_ = FeatureEncoder.from_dict(state["encoder"])
        model.booster_ = lgb.Booster(model_str=state["booster"])
        model.best_iteration_ = int(state["best_iteration"])
        model.threshold_ = float(state["threshold"])
        model.params_ = dict(state["params"])
        return model

    def feature_gain(self) -> dict[str, float]:
        """Total split gain per used feature (0 for features never split on)."""
        gain = self.booster_.feature_importance(importance_type="gain")
        return {name: float(g) for name, g in zip(self.features_, gain, strict=True)}

    def feature_splits(self) -> dict[str, int]:
        """Number of splits per used feature."""
        splits = self.booster_.feature_importance(importance_type="split")
        return {name: int(c) for name, c in zip(self.features_, splits, strict=True)}
