"""Walk-forward check of the refit: does refitting on every labelled date help?

For each of the newest labelled snapshots R of a built warehouse (at least
three snapshots before it), trains as production does on the snapshots before
R only (train / validation / test out of time: trees and threshold chosen on
validation), then scores R with the chosen model and with its refit on every
snapshot before R, and prints the realised metrics of both on R.

Usage:
    python scripts/measure_refit.py warehouse/segment_and_predict.duckdb [--threads 2]

See docs/model_comparison.md for the figures it gave.
"""

from __future__ import annotations

import argparse
import time

import duckdb

from segment_and_predict.ml.propensity.data import (
    AS_OF_DATE,
    LABEL,
    FeatureEncoder,
    label_as_float,
    split_snapshots,
)
from segment_and_predict.ml.propensity.metrics import classification_metrics
from segment_and_predict.ml.propensity.model import PropensityModel
from segment_and_predict.ml.serving import in_key_order

METRICS = ("roc_auc", "pr_auc", "f1", "top_decile_lift", "log_loss")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", help="a built warehouse (DuckDB file)")
    parser.add_argument("--threads", type=int, default=2, help="LightGBM threads")
    args = parser.parse_args()
    with duckdb.connect(args.warehouse, read_only=True) as con:
        features = in_key_order(
            con.execute(f"select * from customer_features where {LABEL} is not null").df()
        )
    dates = sorted(features[AS_OF_DATE].unique())
    print(f"{len(features)} labelled rows on {len(dates)} snapshots")
    for realised in dates[3:]:
        before = features[features[AS_OF_DATE] < realised]
        target = features[features[AS_OF_DATE] == realised]
        split = split_snapshots(before)
        encoder = FeatureEncoder().fit(split.train)
        started = time.time()
        chosen = PropensityModel(num_threads=args.threads).fit(
            encoder.transform(split.train),
            label_as_float(split.train[LABEL]),
            encoder.transform(split.validation),
            label_as_float(split.validation[LABEL]),
            encoder=encoder,
        )
        refit = chosen.refitted(before, label_as_float(before[LABEL]))
        y = label_as_float(target[LABEL])
        a = classification_metrics(y, chosen.predict_probability(target), chosen.threshold_)
        b = classification_metrics(y, refit.predict_probability(target), refit.threshold_)
        print(
            f"realised on {str(realised)[:10]}: {len(split.train_dates)} train snapshot(s), "
            f"{chosen.best_iteration_} trees, {time.time() - started:.0f} s"
        )
        for name in METRICS:
            print(
                f"  {name:16s} chosen {a[name]:.4f}  refit {b[name]:.4f}  "
                f"refit - chosen {b[name] - a[name]:+.4f}"
            )


if __name__ == "__main__":
    main()
