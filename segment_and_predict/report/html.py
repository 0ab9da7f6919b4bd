"""The report's core sections: headline, model quality, calibration, gains, drivers,
segments, the segment x propensity matrix, migration, model history and data sources.

Each ``_name(data, page)`` works out the section's figures and hands them to its
template, ``templates/sections/<anchor>.html.j2``, which holds the words and the
markup; :mod:`.page` puts the sections in order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import charts
from .diagnostics import category_mix, category_mix_shares
from .layout import Page, _empty_note, _missing, _missing_note, markup, render_section
from .queries import PROPENSITY_BANDS, TOP_FEATURES, ReportData, gate, gate_threshold


def _mart_missing(data: ReportData, table: str, df: pd.DataFrame | None):
    """The note a mart-based section shows instead of its chart, or None."""
    if df is None:
        return markup(_missing_note(table))
    if data.serving_propensity is None:
        return markup(_empty_note("There is no trained propensity model to describe yet."))
    if df.empty:
        return markup(_empty_note(f"{table} has no rows for the serving model."))
    return None


# ---------------------------------------------------------------- sections


def _headline(data: ReportData) -> str:
    model = data.serving_propensity
    sources = data.data_sources
    sources_present = None
    if sources is not None and not sources.empty and (sources["status"] != "present").any():
        sources_present = sources.loc[sources["status"] == "present", "table_name"].tolist()
    baseline_roc_aucs = []
    if model is not None:
        baseline_roc_aucs = [
            model.get(f"{b}_roc_auc")
            for b in ("logreg", "rule", "bgnbd")
            if b != "bgnbd" or not _missing(model.get("bgnbd_roc_auc"))
        ]
    return render_section(
        "headline",
        model=model,
        model_is_gated=data.serving_propensity_is_gated,
        seg=data.serving_segmenter,
        seg_is_gated=data.serving_segmenter_is_gated,
        customers_scored=data.customers_scored,
        scoring_date=data.latest_score_date,
        label_window_days=data.label_window_days,
        baseline_roc_aucs=baseline_roc_aucs,
        sources_present=sources_present,
        has_models_table=data.propensity_models is not None,
        has_segmenters_table=data.segment_models is not None,
    )


def _sources(data: ReportData) -> str:
    df = data.data_sources
    if df is None or df.empty:
        return render_section("sources", rows=None if df is None else [])
    lacking = df[df["status"] != "present"]
    return render_section(
        "sources",
        rows=df.to_dict("records"),
        present=df.loc[df["status"] == "present", "table_name"].tolist(),
        lacking_tables=len(lacking),
        lacking_features=int(lacking["feature_count"].fillna(0).sum()),
    )


def _quality(data: ReportData, page: Page) -> str:
    model = data.serving_propensity or {}
    note = _mart_missing(data, "propensity_curves", data.curves)
    if note:
        return render_section("quality", note=note)
    curves = data.curves
    roc_aucs = {
        "lightgbm": model.get("roc_auc"),
        "logistic_regression": model.get("logreg_roc_auc"),
        "recency_frequency_rule": model.get("rule_roc_auc"),
        "bgnbd": model.get("bgnbd_roc_auc"),
    }
    pr_aucs = {
        "lightgbm": model.get("pr_auc"),
        "logistic_regression": model.get("logreg_pr_auc"),
        "recency_frequency_rule": model.get("rule_pr_auc"),
        "bgnbd": model.get("bgnbd_pr_auc"),
    }
    if not (curves["scorer"] == "bgnbd").any():
        # a model trained before the BG/NBD baseline was recorded
        roc_aucs.pop("bgnbd")
        pr_aucs.pop("bgnbd")
    for aucs, curve in ((roc_aucs, "roc"), (pr_aucs, "pr")):
        for scorer in list(aucs):
            if _missing(aucs[scorer]):
                pts = curves[(curves["scorer"] == scorer) & (curves["curve"] == curve)]
                aucs[scorer] = charts.curve_auc(pts)
    roc = page.figure(
        "roc",
        charts.roc_pr_chart(curves, "roc", roc_aucs),
        "ROC curves of LightGBM and the baselines",
    )
    pr = page.figure(
        "precision_recall",
        charts.roc_pr_chart(curves, "pr", pr_aucs),
        "Precision-recall curves of LightGBM and the baselines",
    )
    return render_section(
        "quality",
        note=None,
        figures=markup(f'<div class="pair">{roc}{pr}</div>'),
        roc_aucs=roc_aucs,
        model=model,
    )


def _calibration(data: ReportData, page: Page) -> str:
    note = _mart_missing(data, "propensity_calibration", data.calibration)
    if note:
        return render_section("calibration", note=note)
    c = data.calibration.dropna(subset=["mean_predicted_probability", "observed_purchase_rate"])
    fig = page.figure(
        "calibration",
        charts.calibration_chart(data.calibration),
        "Predicted probability against observed purchase rate",
    )
    gap = None
    if not c.empty and c["customers"].sum() > 0:
        gap = float(
            np.average(
                (c["mean_predicted_probability"] - c["observed_purchase_rate"]).abs(),
                weights=c["customers"],
            )
        )
    return render_section("calibration", note=None, figure=markup(fig), gap=gap)


def _decile(gains: pd.DataFrame, decile) -> dict | None:
    row = gains[gains["score_decile"] == decile]
    return None if row.empty else row.iloc[0].to_dict()


def _gains(data: ReportData, page: Page) -> str:
    note = _mart_missing(data, "propensity_gains", data.gains)
    if note:
        return render_section("gains", note=note)
    g = data.gains.sort_values("score_decile")
    fig = page.figure(
        "gains", charts.gains_chart(g), "Lift by score decile and cumulative gains curve"
    )
    return render_section(
        "gains",
        note=None,
        figure=markup(fig),
        top=_decile(g, 1),
        third=_decile(g, 3),
        bottom=_decile(g, g["score_decile"].max()),
    )


def _drivers(data: ReportData, page: Page) -> str:
    note = _mart_missing(data, "propensity_feature_importance", data.feature_importance)
    if note:
        return render_section("drivers", note=note)
    fi = data.feature_importance.dropna(subset=["mean_abs_shap"]).sort_values(
        "mean_abs_shap", ascending=False
    )
    fig = page.figure(
        "feature_importance",
        charts.feature_importance_chart(data.feature_importance),
        f"Top {TOP_FEATURES} features by mean absolute SHAP value",
    )
    directions = []  # (readable feature, raises the chance) of the clear ones
    if "value_shap_correlation" in fi.columns:
        directions = [
            (charts.readable_feature(r.feature_name), r.value_shap_correlation > 0)
            for r in fi.head(6).itertuples()
            if pd.notna(r.value_shap_correlation) and abs(r.value_shap_correlation) >= 0.5
        ]
    return render_section(
        "drivers",
        note=None,
        figure=markup(fig),
        top_features=[charts.readable_feature(n) for n in fi["feature_name"].head(3)],
        directions=directions,
    )


def _segments(data: ReportData, page: Page) -> str:
    p = data.segment_profiles
    if p is None or p.empty:
        return render_section("segments", profiles=None if p is None else [])
    p = p.sort_values("customers", ascending=False)
    sizes = page.figure(
        "segment_sizes", charts.segment_sizes_chart(p), "Number of customers per segment"
    )
    heat = page.figure(
        "segment_profiles",
        charts.segment_heatmap_chart(p),
        "Heat map of segment profiles relative to the average customer",
    )
    profiles = [
        {
            **row,
            "observed": row.get(data.observed_rate_column),
            "spend_mix": category_mix_shares(data, str(row["segment_name"])),
        }
        for row in p.to_dict("records")
    ]
    return render_section(
        "segments",
        profiles=profiles,
        profiles_date=p["as_of_date"].iloc[0] if "as_of_date" in p.columns else None,
        largest=p.iloc[0].to_dict(),
        smallest=p.iloc[-1].to_dict(),
        best=p.sort_values("mean_propensity", ascending=False).iloc[0].to_dict(),
        sizes_figure=markup(sizes),
        heat_figure=markup(heat),
        category_mix=category_mix(data),
        label_window_days=data.label_window_days,
    )


def _matrix(data: ReportData, page: Page) -> str:
    m = data.segment_matrix
    if m is None:
        missing = [
            t for t in ("customer_segments", "propensity_scores") if t in data.missing_tables
        ]
        return render_section("matrix", missing_tables=missing)
    if m.empty:
        return render_section("matrix", missing_tables=None, empty=True)
    fig = page.figure(
        "segment_propensity_matrix",
        charts.segment_matrix_chart(m),
        "Customers per segment and propensity band",
    )
    table = charts.matrix_table(m)
    high_band = PROPENSITY_BANDS[0][0]
    high = None
    if high_band in table.columns and table[high_band].sum() > 0:
        share = table[high_band] / table.sum(axis=1)
        most = table[high_band].idxmax()
        richest = share.idxmax()
        high = {
            "most": most,
            "most_customers": table.loc[most, high_band],
            "richest": richest,
            "richest_share": share[richest],
        }
    return render_section(
        "matrix",
        missing_tables=None,
        empty=False,
        figure=markup(fig),
        matrix_date=data.segment_matrix_date,
        label_window_days=data.label_window_days,
        bands=PROPENSITY_BANDS,
        high=high,
        from_campaign_targets=data.segment_matrix_source == "campaign_targets",
    )


def _migration(data: ReportData, page: Page) -> str:
    mg = data.segment_migration
    if mg is None or mg.empty:
        return render_section("migration", known=mg is not None, empty=True)
    fig = page.figure(
        "segment_migration", charts.migration_chart(mg), "Customers moving between segments"
    )
    total = mg["customers"].sum()
    stayed = mg.loc[mg["is_same_segment"].fillna(False).astype(bool), "customers"].sum()
    moves = mg[~mg["is_same_segment"].fillna(False).astype(bool)]
    top_move = None
    if not moves.empty and moves["customers"].max() > 0:
        top_move = moves.sort_values("customers", ascending=False).iloc[0].to_dict()
    return render_section(
        "migration",
        known=True,
        empty=False,
        figure=markup(fig),
        from_date=mg["from_date"].iloc[0],
        to_date=mg["to_date"].iloc[0],
        stayed_share=stayed / total if total else np.nan,
        top_move=top_move,
    )


# the registry columns each history table shows (templates/sections/history.html.j2)
_PROPENSITY_COLUMNS = (
    "model_id",
    "trained_ts",
    "test_as_of_date",
    "roc_auc",
    "pr_auc",
    "f1",
    "top_decile_lift",
    "logreg_roc_auc",
    "rule_roc_auc",
    "bgnbd_roc_auc",
    "passed_quality_gate",
)
_SEGMENTER_COLUMNS = (
    "segment_model_id",
    "trained_ts",
    "k",
    "silhouette",
    "stability_ari",
    "smallest_segment_share",
    "passed_quality_gate",
)


def _registry_rows(
    df: pd.DataFrame | None, columns: tuple[str, ...], serving_id: str | None, id_col: str
) -> list[dict] | None:
    """The newest 20 rows of a registry (a column it lacks is None), or None without it."""
    if df is None:
        return None
    ordered = df.sort_values(["trained_ts", id_col], ascending=False, na_position="last")
    return [
        {**{c: row.get(c) for c in columns}, "is_serving": row.get(id_col) == serving_id}
        for row in ordered.head(20).to_dict("records")
    ]


def _gate_thresholds(row, labels) -> list[tuple[str, float]]:
    g = gate(row)
    return [
        (label, gate_threshold(g, key))
        for key, label in labels
        if gate_threshold(g, key) is not None
    ]


def _registry(data: ReportData, page: Page) -> str:
    pm, sm = data.propensity_models, data.segment_models
    fig = page.figure(
        "model_history",
        charts.model_history_chart(pm, sm),
        "Model quality metrics over training time with gate thresholds",
    )
    serving_model = (
        data.serving_propensity.get("model_id") if data.serving_propensity_is_gated else None
    )
    serving_segmenter = (
        data.serving_segmenter.get("segment_model_id") if data.serving_segmenter_is_gated else None
    )
    return render_section(
        "history",
        figure=markup(fig),
        any_failed=any(
            df is not None
            and "passed_quality_gate" in df.columns
            and (~df["passed_quality_gate"].fillna(False).astype(bool)).any()
            for df in (pm, sm)
        ),
        propensity_gate=_gate_thresholds(
            data.serving_propensity, (("roc_auc", "ROC-AUC"), ("pr_auc", "PR-AUC"), ("f1", "F1"))
        ),
        # Registry rows from before the option existed always required it.
        must_beat_baselines=gate(data.serving_propensity).get("must_beat_baselines", True)
        is not False,
        segmenter_gate=_gate_thresholds(
            data.serving_segmenter,
            (
                ("silhouette", "silhouette"),
                ("stability", "stability"),
                ("segment_share", "smallest segment share"),
            ),
        ),
        propensity_models=_registry_rows(pm, _PROPENSITY_COLUMNS, serving_model, "model_id"),
        segmenters=_registry_rows(sm, _SEGMENTER_COLUMNS, serving_segmenter, "segment_model_id"),
    )
