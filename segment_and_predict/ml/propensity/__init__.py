"""Purchase propensity: will a customer buy in the next 30 days?

Train with :func:`train_propensity_model` on the ``customer_features`` table
(out-of-time split by snapshot date, LightGBM with native categoricals, two
baselines, evaluation tables for the registry) and score with
:func:`score_customers` (a frame), or :func:`score_blocks` (blocks of rows as the
daily job reads them from the warehouse, never all at once). Models are stored as JSON text
(:meth:`PropensityModel.to_json`), never pickled.
"""

from segment_and_predict.ml.propensity.baselines import (
    BgNbdBaseline,
    LogisticRegressionBaseline,
    RecencyFrequencyRule,
)
from segment_and_predict.ml.propensity.bootstrap import (
    compare_with_baselines,
    worse_than_a_baseline,
)
from segment_and_predict.ml.propensity.data import (
    AS_OF_DATE,
    CUSTOMER_ID,
    KEY_COLUMNS,
    LABEL,
    FeatureEncoder,
    SnapshotSplit,
    split_snapshots,
)
from segment_and_predict.ml.propensity.explain import feature_importance
from segment_and_predict.ml.propensity.metrics import (
    best_f1_threshold,
    calibration_table,
    classification_metrics,
    curve_points,
    gains_table,
    rank_percentile_and_decile,
)
from segment_and_predict.ml.propensity.model import DEFAULT_PARAMS, PropensityModel
from segment_and_predict.ml.propensity.scoring import SCORE_COLUMNS, score_blocks, score_customers
from segment_and_predict.ml.propensity.training import (
    DEFAULT_GATE,
    TrainingResult,
    beats_baselines,
    parse_bool_var,
    passes_quality_gate,
    train_propensity_model,
)

__all__ = [
    "AS_OF_DATE",
    "CUSTOMER_ID",
    "DEFAULT_GATE",
    "DEFAULT_PARAMS",
    "KEY_COLUMNS",
    "LABEL",
    "SCORE_COLUMNS",
    "FeatureEncoder",
    "LogisticRegressionBaseline",
    "PropensityModel",
    "RecencyFrequencyRule",
    "BgNbdBaseline",
    "SnapshotSplit",
    "TrainingResult",
    "beats_baselines",
    "best_f1_threshold",
    "calibration_table",
    "classification_metrics",
    "compare_with_baselines",
    "curve_points",
    "feature_importance",
    "gains_table",
    "rank_percentile_and_decile",
    "parse_bool_var",
    "passes_quality_gate",
    "score_blocks",
    "score_customers",
    "split_snapshots",
    "train_propensity_model",
    "worse_than_a_baseline",
]
