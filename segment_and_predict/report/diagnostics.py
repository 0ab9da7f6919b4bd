"""The report's diagnostic sections: the cut-off view, the drivers' direction,
segmentation diagnostics, monitoring and data quality.

Each ``name(data, page)`` works out the section's figures (and draws its charts,
:mod:`.diagnostic_charts`) and hands them to its template,
``templates/sections/<anchor>.html.j2``, which holds the words and the markup;
:mod:`.page` puts the sections in order. :func:`category_mix` and
:func:`category_mix_shares` give the segments section (:mod:`.html`) its category mix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import diagnostic_charts as charts
from .analysis import CutoffCounts, contact_table, cutoff_counts
from .charts import readable_feature
from .layout import Page, _missing, markup, render_section
from .queries import ReportData, gate, gate_threshold


def _propensity_gates(data: ReportData) -> dict[str, float | None]:
    g = gate(data.serving_propensity)
    return {m: gate_threshold(g, m) for m in ("roc_auc", "pr_auc", "f1")}


# ---------------------------------------------------------------- cut-off view


def _counts(data: ReportData) -> CutoffCounts | None:
    row = data.serving_propensity or {}
    return cutoff_counts(
        row.get("n_test"),
        row.get("test_positive_rate"),
        row.get("precision"),
        row.get("recall"),
        row.get("threshold"),
    )


def _confusion(counts: CutoffCounts) -> dict:
    """The test date's confusion table at the stored threshold, with its margins."""
    return {
        "counts": counts,
        "not_contacted": counts.customers - counts.contacted,
        "non_buyers": counts.customers - counts.buyers,
        "precision": counts.true_positives / counts.contacted if counts.contacted else np.nan,
        "recall": counts.true_positives / counts.buyers if counts.buyers else np.nan,
    }


def cutoff(data: ReportData, page: Page) -> str:
    if data.serving_propensity is None:
        return render_section("cutoff", model=None)
    counts = _counts(data)
    gains = data.gains
    contact = (
        contact_table(gains, data.today_contact) if gains is not None and not gains.empty else None
    )
    hist = page.figure(
        "score_histogram",
        charts.score_histogram_chart(data.calibration, counts),
        "Test-date scores of buyers and non-buyers with the threshold",
    )
    curve = page.figure(
        "contact_curve",
        charts.contact_curve_chart(gains, contact) if contact is not None else None,
        "Share of buyers reached by contacting the top N% of scores",
    )
    return render_section(
        "cutoff",
        model=data.serving_propensity,
        confusion=None if counts is None else _confusion(counts),
        contact=None if contact is None else contact.to_dict("records"),
        scoring_date=data.latest_score_date,
        histogram=markup(hist),
        contact_curve=markup(curve),
    )


# ---------------------------------------------------------------- drivers with direction


def _quintile_rows(effects, top: int = 8) -> list[dict]:
    """Per feature (the first ``top``): the lowest and highest value quintile's mean value
    and mean signed effect, the missing values' mean effect and the direction."""
    q = effects.quintiles
    rows = []
    for name in effects.features[:top]:
        part = q[(q["feature"] == name) & (q["quintile"] > 0)].sort_values("quintile")
        if part.empty:
            continue
        low, high = part.iloc[0], part.iloc[-1]
        missing = q[(q["feature"] == name) & (q["quintile"] == 0)]
        rows.append(
            {
                "feature": readable_feature(name),
                "low_value": low["mean_value"],
                "low_effect": low["mean_shap"],
                "high_value": high["mean_value"],
                "high_effect": high["mean_shap"],
                "has_missing": not missing.empty,
                "missing_effect": None if missing.empty else missing["mean_shap"].iloc[0],
                "raises": bool(high["mean_shap"] > low["mean_shap"]),
            }
        )
    return rows


def driver_direction(data: ReportData, page: Page) -> str:
    effects = data.driver_effects
    if effects is None or not effects.features:
        missing_table = None
        if "customer_features" in data.missing_tables:
            missing_table = "customer_features"
        elif data.serving_propensity is None:
            missing_table = "propensity_models"
        return render_section("direction", effects=None, missing_table=missing_table)
    fig = page.figure(
        "driver_direction",
        charts.driver_direction_chart(effects),
        "Signed SHAP values of a sample of customers for the top features",
    )
    return render_section(
        "direction",
        effects=effects,
        figure=markup(fig),
        scoring_date=data.latest_score_date,
        rows=_quintile_rows(effects),
    )


# ---------------------------------------------------------------- segmentation diagnostics


def _passes(value) -> bool:
    return value is True or value == 1


def segment_diagnostics(data: ReportData, page: Page) -> str:
    comparison = data.segment_comparison
    if comparison is None:
        return render_section("segment_diagnostics", comparison=None)
    chosen = (data.serving_segmenter or {}).get("k")
    chosen_k = None if _missing(chosen) else int(chosen)
    fig = page.figure(
        "segment_k_selection",
        charts.k_selection_chart(comparison, chosen_k),
        "Silhouette and stability of KMeans by number of segments",
    )
    ks = comparison[comparison["comparison"] == "k_selection"]
    others = sorted(
        {
            str(a).replace("_", " ")
            for a in comparison.loc[comparison["comparison"] != "k_selection", "algorithm"]
            if str(a) != "kmeans"
        }
    )
    rows = [
        {
            **r,
            "comparison": str(r["comparison"]).replace("_", " "),
            "algorithm": str(r["algorithm"]),
            "passes": _passes(r["passes_gate"]),
        }
        for r in comparison.to_dict("records")
    ]
    proj = page.figure(
        "segment_projection",
        charts.projection_chart(
            data.projection, data.projection_centroids, data.projection_variance
        ),
        "A sample of customers projected on two principal components, coloured by segment",
    )
    return render_section(
        "segment_diagnostics",
        comparison=rows,
        no_k_selection=ks.empty,
        chosen_k=chosen_k,
        others=others,
        k_figure=markup(fig),
        projection_figure=markup(proj),
        projected=0 if data.projection is None else len(data.projection),
    )


def category_mix(data: ReportData) -> dict | None:
    """Each category group's share of each segment's spend (segment_profiles), for the
    segments section's table (``templates/sections/category_mix.html.j2``); None without."""
    mix = data.category_mix
    if mix is None or mix.empty:
        return None
    shares = [c for c in mix.columns if c.startswith("spend_share_")]
    return {
        "categories": [c.removeprefix("spend_share_") for c in shares],
        "rows": [
            {
                "segment_name": str(r["segment_name"]),
                "customers": r["customers"],
                "shares": [r[c] for c in shares],
            }
            for r in mix.to_dict("records")
        ],
    }


def category_mix_shares(
    data: ReportData, segment_name: str, top: int = 3
) -> list[tuple[str, float]]:
    """One segment's ``top`` category groups by share of spend, largest first (the
    segment card's "Spend mix: electronics 31%, ..."); empty without."""
    mix = data.category_mix
    if mix is None or mix.empty:
        return []
    row = mix[mix["segment_name"].astype(str) == segment_name]
    if row.empty:
        return []
    shares = row.iloc[0][[c for c in mix.columns if c.startswith("spend_share_")]]
    shares = pd.to_numeric(shares, errors="coerce").dropna().sort_values(ascending=False)
    return [(name.removeprefix("spend_share_"), value) for name, value in shares.head(top).items()]


# ---------------------------------------------------------------- monitoring


def _feature_drift(data: ReportData, page: Page) -> dict | None:
    drift = data.feature_drift
    if drift is None or drift.empty:
        return None
    warn, fail = data.psi_warn, data.psi_fail
    fig = page.figure(
        "feature_drift",
        charts.feature_drift_chart(drift, warn, fail),
        "Features with the largest PSI against the training rows",
    )
    return {
        "figure": markup(fig),
        "as_of_date": drift["as_of_date"].iloc[0],
        "features": len(drift),
        "above_warn": int((drift["psi"] > warn).sum()),
        "above_fail": int((drift["psi"] > fail).sum()),
        "worst": [
            {**r, "feature": readable_feature(str(r["feature"]))}
            for r in drift.head(8).to_dict("records")
        ],
    }


def _score_drift(data: ReportData, page: Page) -> dict | None:
    if data.score_drift is None and data.segment_drift is None:
        return None
    fig = page.figure(
        "drift_over_time",
        charts.drift_over_time_chart(
            data.score_drift, data.segment_drift, data.psi_warn, data.psi_fail
        ),
        "PSI of the score distribution and segment shares by scoring date",
    )
    dates = data.score_drift["as_of_date"].nunique() if data.score_drift is not None else 0
    return {"figure": markup(fig), "dates": dates}


def _realised(data: ReportData, page: Page) -> dict | None:
    r = data.realised_performance
    if r is None or r.empty:
        return None
    fig = page.figure(
        "realised_performance",
        charts.realised_performance_chart(r, _propensity_gates(data)),
        "Realised ROC-AUC and PR-AUC by scoring date with the gates",
    )
    return {"figure": markup(fig), "last": r.sort_values("as_of_date").iloc[-1].to_dict()}


def _backtest(data: ReportData, page: Page) -> dict | None:
    b = data.backtest
    if b is None or b.empty:
        return None
    fig = page.figure(
        "backtest",
        charts.backtest_chart(b, _propensity_gates(data)),
        "Backtest ROC-AUC and PR-AUC of each method by date",
    )
    closed = b.dropna(subset=["roc_auc"])
    summary = (
        closed.groupby("method", sort=False)[["roc_auc", "pr_auc"]]
        .agg(["mean", "min", "max"])
        .reset_index()
    )
    return {
        "figure": markup(fig),
        "dates": closed["as_of_date"].nunique(),
        "first": closed["as_of_date"].min(),
        "last": closed["as_of_date"].max(),
        "methods": [
            {
                "method": str(r[("method", "")]),
                **{
                    f"{metric}_{stat}": r[(metric, stat)]
                    for metric in ("roc_auc", "pr_auc")
                    for stat in ("mean", "min", "max")
                },
            }
            for _, r in summary.iterrows()
        ],
    }


def monitoring(data: ReportData, page: Page) -> str:
    # the charts are drawn in page order: feature drift, drift over time, realised, backtest
    feature_drift = _feature_drift(data, page)
    score_drift = _score_drift(data, page)
    realised = _realised(data, page)
    backtest = _backtest(data, page)
    return render_section(
        "monitoring",
        has_feature_drift=data.feature_drift is not None,
        feature_drift=feature_drift,
        score_drift=score_drift,
        has_realised=data.realised_performance is not None,
        realised=realised,
        backtest=backtest,
        backtest_file=data.backtest_path.name if data.backtest_path else "n/a",
        psi_warn=data.psi_warn,
        psi_fail=data.psi_fail,
        label_window_days=data.label_window_days,
    )


# ---------------------------------------------------------------- data quality


def data_quality(data: ReportData, page: Page) -> str:
    issues = data.data_quality_issues
    quarantined = None
    if issues is not None and not issues.empty:
        quarantined = int(issues["rows_quarantined"].fillna(0).sum())
    missing = data.missing_values
    fig = None
    if missing is not None:
        fig = page.figure(
            "missing_values",
            charts.missing_values_chart(missing),
            "Share of missing values by feature on the scoring date",
        )
    return render_section(
        "data_quality",
        issues=None if issues is None else issues.to_dict("records"),
        quarantined=quarantined or 0,
        missing=None
        if missing is None
        else {
            "figure": markup(fig),
            "features": len(missing),
            "customers": missing["rows"].iloc[0] if len(missing) else 0,
            "with_gaps": int((missing["null_share"] > 0).sum()),
            "date": data.missing_values_date,
        },
    )
