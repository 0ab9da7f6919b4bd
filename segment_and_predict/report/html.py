"""The report's core sections: headline, model quality, calibration, gains, drivers,
segments, the segment x propensity matrix, migration, model history and data sources.

Each ``_name(data, page)`` returns one ``<section>``; :mod:`.page` puts them in order.
"""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd

from . import charts
from .diagnostics import category_mix_html, category_mix_line
from .layout import (
    Page,
    _chart,
    _empty_note,
    _gate_badge,
    _missing,
    _missing_note,
    _section,
    count,
    day,
    num,
    pct,
    stamp,
)
from .queries import PROPENSITY_BANDS, TOP_FEATURES, ReportData, gate, gate_threshold


def _card(label: str, value: str, note: str = "") -> str:
    note_html = f'<div class="note">{note}</div>' if note else ""
    return (
        f'<div class="card"><div class="label">{escape(label)}</div>'
        f'<div class="value">{value}</div>{note_html}</div>'
    )


# ---------------------------------------------------------------- sections


def _headline(data: ReportData) -> str:
    model = data.serving_propensity
    seg = data.serving_segmenter
    parts = []
    if model is not None and not data.serving_propensity_is_gated:
        parts.append(
            '<p class="notice">No propensity model has passed its quality gate yet, so no '
            "model is being served. The figures below describe the newest trained model, "
            f"<code>{escape(str(model.get('model_id')))}</code>, which failed the gate.</p>"
        )
    if seg is not None and not data.serving_segmenter_is_gated:
        parts.append(
            '<p class="notice">No segmenter has passed its quality gate yet; the figures '
            "describe the newest trained one.</p>"
        )
    cards = [
        _card("Customers scored", count(data.customers_scored)),
        _card("Scoring date (as_of_date)", day(data.latest_score_date)),
    ]
    if model is not None:
        cards += [
            _card(
                "Propensity model",
                f'<span class="id">{escape(str(model.get("model_id")))}</span>',
                f"trained {stamp(model.get('trained_ts'))}",
            ),
            _card(
                "Test ROC-AUC",
                num(model.get("roc_auc")),
                "baselines: "
                + " / ".join(
                    num(model.get(f"{b}_roc_auc"))
                    for b in ("logreg", "rule", "bgnbd")
                    if b != "bgnbd" or not _missing(model.get("bgnbd_roc_auc"))
                ),
            ),
            _card("Test PR-AUC", num(model.get("pr_auc"))),
            _card("Test F1", num(model.get("f1"))),
            _card("Top-decile lift", f"{num(model.get('top_decile_lift'), 1)}x"),
            _card("Quality gate", _gate_badge(model.get("passed_quality_gate"))),
        ]
    if seg is not None:
        cards += [
            _card(
                "Segmenter",
                f'<span class="id">{escape(str(seg.get("segment_model_id")))}</span>',
                f"{escape(str(seg.get('algorithm') or 'kmeans'))}, "
                f"trained {stamp(seg.get('trained_ts'))}",
            ),
            _card("Segments (k)", count(seg.get("k"))),
            _card("Silhouette", num(seg.get("silhouette")), "separation, -1 to 1"),
            _card("Stability", num(seg.get("stability_ari")), "same segments on resamples, 0-1"),
            _card("Segmenter gate", _gate_badge(seg.get("passed_quality_gate"))),
        ]
    parts.append(f'<div class="cards">{"".join(cards)}</div>')

    sentences = []
    if data.customers_scored is not None:
        sentences.append(
            f"On {day(data.latest_score_date)}, {count(data.customers_scored)} customers "
            "received a score: their estimated chance of placing at least one order in the "
            f"next {data.label_window_days} days."
        )
    if model is not None:
        lift = model.get("top_decile_lift")
        if not _missing(lift):
            sentences.append(
                f"On a month the model had never seen, the 10% of customers it scored highest "
                f"bought at <b>{float(lift):.1f}x</b> the average rate."
            )
    if seg is not None:
        sentences.append(
            f"Customers are grouped into <b>{count(seg.get('k'))}</b> segments of similar "
            "behaviour (see below)."
        )
    sources = data.data_sources
    if sources is not None and not sources.empty and (sources["status"] != "present").any():
        present = sources.loc[sources["status"] == "present", "table_name"].tolist()
        sentences.append(
            f"Built from {escape(', '.join(present))} only: "
            f'<a href="#sources">the other raw tables</a> were absent or empty.'
        )
    parts.append("".join(f"<p>{s}</p>" for s in sentences))
    if model is None:
        parts.append(
            _missing_note("propensity_models")
            if data.propensity_models is None
            else _empty_note("No propensity model has been trained yet.")
        )
    if seg is None:
        parts.append(
            _missing_note("segment_models")
            if data.segment_models is None
            else _empty_note("No segmenter has been trained yet.")
        )
    return _section("headline", "Headline figures", "".join(parts))


def _sources(data: ReportData) -> str:
    title = "Data sources"
    df = data.data_sources
    if df is None:
        return _section("sources", title, _missing_note("data_sources"))
    if df.empty:
        return _section("sources", title, _empty_note("data_sources has no rows."))
    present = df.loc[df["status"] == "present", "table_name"].tolist()
    lacking = df[df["status"] != "present"]
    text = f"This run read {escape(', '.join(present) or 'no table')}."
    if lacking.empty:
        text += " Every table of the raw-data contract had rows."
    else:
        features = int(lacking["feature_count"].fillna(0).sum())
        text += (
            f" {len(lacking)} optional tables were absent or empty, so the {features} "
            "features they feed are null in <code>customer_features</code> and both models "
            "leave them out (their registry rows list the features used)."
        )
    head = "".join(
        f'<th class="{cls}">{label}</th>'
        for label, cls in (
            ("table", ""),
            ("status", ""),
            ("rows", "num"),
            ("required", ""),
            ("features it feeds", ""),
        )
    )
    rows = []
    for row in df.to_dict("records"):
        status = str(row.get("status"))
        badge = "ok" if status == "present" else ("bad" if row.get("is_required") else "missing")
        rows.append(
            f"<tr><td><code>{_text(row.get('table_name'))}</code></td>"
            f'<td><span class="{badge}">{escape(status)}</span></td>'
            f'<td class="num">{count(row.get("row_count"))}</td>'
            f"<td>{'yes' if row.get('is_required') else 'no'}</td>"
            f"<td>{_text(row.get('feeds_features'))}</td></tr>"
        )
    table = (
        f'<div class="tablewrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
    return _section("sources", title, f"<p>{text}</p>{table}")


def _mart_missing(data: ReportData, table: str, df: pd.DataFrame | None) -> str | None:
    if df is None:
        return _missing_note(table)
    if data.serving_propensity is None:
        return _empty_note("There is no trained propensity model to describe yet.")
    if df.empty:
        return _empty_note(f"{table} has no rows for the serving model.")
    return None


def _quality(data: ReportData, page: Page) -> str:
    model = data.serving_propensity or {}
    note = _mart_missing(data, "propensity_curves", data.curves)
    if note:
        return _section("quality", "How well the model separates buyers", note)
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
    text = []
    auc = roc_aucs.get("lightgbm")
    if not _missing(auc):
        text.append(
            f"Pick one customer who bought and one who did not: our model gives the buyer the "
            f"higher score <b>{float(auc):.0%}</b> of the time (ROC-AUC {float(auc):.3f}). "
            f"The simpler baselines reach {num(roc_aucs.get('logistic_regression'))} "
            f"(logistic regression), {num(roc_aucs.get('recency_frequency_rule'))} "
            "(a rule on how recently and how often a customer ordered)"
            + (
                f" and {num(roc_aucs['bgnbd'])} (BG/NBD, a repeat-buying model fitted on "
                "purchase histories alone)."
                if "bgnbd" in roc_aucs
                else "."
            )
        )
    precision, recall = model.get("precision"), model.get("recall")
    if not _missing(precision) and not _missing(recall):
        text.append(
            f"At the cut-off the model uses to flag likely buyers, <b>{pct(precision)}</b> of "
            f"the flagged customers did buy, and they included <b>{pct(recall)}</b> of all "
            f"buyers (F1 {num(model.get('f1'))})."
        )
    rate = model.get("test_positive_rate")
    if not _missing(rate):
        text.append(
            f"All curves are measured on the held-out test month "
            f"({escape(str(model.get('test_as_of_date') or 'n/a'))}), when {pct(rate)} of "
            "customers bought. Higher and further left/up is better."
        )
    figures = f'<div class="pair">{roc}{pr}</div>'
    return _section(
        "quality", "How well the model separates buyers", _chart(figures, text, wide=True)
    )


def _calibration(data: ReportData, page: Page) -> str:
    title = "Can the probabilities be taken at face value?"
    note = _mart_missing(data, "propensity_calibration", data.calibration)
    if note:
        return _section("calibration", title, note)
    c = data.calibration.dropna(subset=["mean_predicted_probability", "observed_purchase_rate"])
    fig = page.figure(
        "calibration",
        charts.calibration_chart(data.calibration),
        "Predicted probability against observed purchase rate",
    )
    text = [
        "Customers are grouped by their predicted chance of buying; each dot compares the "
        "average prediction with the share who actually bought. Dots on the dashed line "
        "mean the probabilities can be read literally."
    ]
    if not c.empty and c["customers"].sum() > 0:
        gap = float(
            np.average(
                (c["mean_predicted_probability"] - c["observed_purchase_rate"]).abs(),
                weights=c["customers"],
            )
        )
        text.append(
            f"On average a customer's predicted chance is <b>{gap * 100:.1f} percentage "
            "points</b> away from what the matching group really did."
        )
    return _section("calibration", title, _chart(fig, text))


def _gains(data: ReportData, page: Page) -> str:
    title = "Who to contact first: gains and lift by decile"
    note = _mart_missing(data, "propensity_gains", data.gains)
    if note:
        return _section("gains", title, note)
    g = data.gains.sort_values("score_decile")
    fig = page.figure(
        "gains", charts.gains_chart(g), "Lift by score decile and cumulative gains curve"
    )
    text = []
    first = g[g["score_decile"] == 1]
    if not first.empty and not _missing(first["lift"].iloc[0]):
        text.append(
            f"The top 10% of customers by score buy at <b>{float(first['lift'].iloc[0]):.1f}x"
            f"</b> the average rate ({pct(first['purchase_rate'].iloc[0])} of them bought, "
            "on the test month)."
        )
    third = g[g["score_decile"] == 3]
    if not third.empty and not _missing(third["cumulative_share_of_buyers"].iloc[0]):
        text.append(
            f"Contacting only the top 30% would reach <b>"
            f"{pct(third['cumulative_share_of_buyers'].iloc[0])}</b> of all buyers; "
            "picking customers at random would reach 30%."
        )
    last = g[g["score_decile"] == g["score_decile"].max()]
    if not last.empty and not _missing(last["lift"].iloc[0]):
        text.append(f"The bottom 10% buy at {float(last['lift'].iloc[0]):.2f}x the average rate.")
    return _section("gains", title, _chart(fig, text, wide=True))


def _drivers(data: ReportData, page: Page) -> str:
    title = "What drives a purchase"
    note = _mart_missing(data, "propensity_feature_importance", data.feature_importance)
    if note:
        return _section("drivers", title, note)
    fi = data.feature_importance.dropna(subset=["mean_abs_shap"]).sort_values(
        "mean_abs_shap", ascending=False
    )
    fig = page.figure(
        "feature_importance",
        charts.feature_importance_chart(data.feature_importance),
        f"Top {TOP_FEATURES} features by mean absolute SHAP value",
    )
    names = [f"<b>{escape(charts.readable_feature(n))}</b>" for n in fi["feature_name"].head(3)]
    text = []
    if names:
        listed = ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]
        text.append(f"The customer facts that move the score the most are {listed}.")
    if "value_shap_correlation" in fi.columns:
        directions = [
            f"more <b>{escape(charts.readable_feature(r.feature_name))}</b> "
            + ("raises" if r.value_shap_correlation > 0 else "lowers")
            + " the chance"
            for r in fi.head(6).itertuples()
            if pd.notna(r.value_shap_correlation) and abs(r.value_shap_correlation) >= 0.5
        ]
        if directions:
            text.append("Direction, on the test customers: " + "; ".join(directions) + ".")
    text.append(
        "A longer bar means the fact changes an individual customer's score more, on "
        "average; the table <code>propensity_feature_importance</code> ranks the features "
        "in the same order and gives each numeric one's direction. Each customer's own top "
        "three reasons (raising or lowering the score) are stored with their score in "
        "<code>propensity_scores</code>."
    )
    return _section("drivers", title, _chart(fig, text))


def _segments(data: ReportData, page: Page) -> str:
    title = "Customer segments"
    p = data.segment_profiles
    if p is None:
        return _section("segments", title, _missing_note("segment_profiles"))
    if p.empty:
        return _section("segments", title, _empty_note("segment_profiles has no rows yet."))
    p = p.sort_values("customers", ascending=False)
    sizes = page.figure(
        "segment_sizes", charts.segment_sizes_chart(p), "Number of customers per segment"
    )
    largest, smallest = p.iloc[0], p.iloc[-1]
    size_text = [
        f"On {day(p['as_of_date'].iloc[0]) if 'as_of_date' in p.columns else 'the latest date'}"
        f", customers fall into <b>{len(p)}</b> segments. The largest, "
        f"<b>{escape(str(largest['segment_name']))}</b>, holds {pct(largest['customer_share'])}"
        f" of customers; the smallest, <b>{escape(str(smallest['segment_name']))}</b>, "
        f"{pct(smallest['customer_share'], 1)}."
    ]
    heat = page.figure(
        "segment_profiles",
        charts.segment_heatmap_chart(p),
        "Heat map of segment profiles relative to the average customer",
    )
    best = p.sort_values("mean_propensity", ascending=False).iloc[0]
    heat_text = [
        "Each cell compares a segment with the average customer: 2.00x is twice the average, "
        "0.50x half of it. Red is above average, blue below.",
        f"<b>{escape(str(best['segment_name']))}</b> has the highest average chance of buying "
        f"in the next {data.label_window_days} days ({pct(best['mean_propensity'])}, "
        f"{num(best.get('propensity_vs_base'), 1)}x the average).",
    ]
    cards = []
    for row in p.to_dict("records"):
        observed = row.get(data.observed_rate_column)
        meta = (
            f"Mostly {escape(str(row.get('top_acquisition_channel') or 'n/a'))} acquisition, "
            f"{escape(str(row.get('top_device_type') or 'n/a'))} device, "
            f"{escape(str(row.get('top_region') or 'n/a'))} region. "
            f"Predicted {data.label_window_days}-day purchase chance "
            f"{pct(row.get('mean_propensity'))}"
        )
        if not _missing(observed):
            meta += (
                f"; {pct(observed)} actually bought in the {data.label_window_days} days after "
                f"{day(row.get('observed_purchase_rate_as_of_date'))}"
            )
        cards.append(
            f'<div class="segment"><h4>{escape(str(row["segment_name"]))} '
            f'<span class="missing">({count(row["customers"])} customers, '
            f"{pct(row.get('customer_share'))})</span></h4>"
            f"<div>{escape(str(row.get('segment_description') or ''))}</div>"
            f'<div class="meta">{meta}.{category_mix_line(data, str(row["segment_name"]))}'
            "</div></div>"
        )
    body = (
        _chart(sizes, size_text)
        + "<h3>How the segments differ</h3>"
        + _chart(heat, heat_text, wide=True)
        + f'<div class="segments">{"".join(cards)}</div>'
        + category_mix_html(data)
    )
    return _section("segments", title, body)


def _matrix(data: ReportData, page: Page) -> str:
    title = "Segments by purchase chance"
    m = data.segment_matrix
    if m is None:
        missing = [
            t for t in ("customer_segments", "propensity_scores") if t in data.missing_tables
        ]
        return _section("matrix", title, "".join(_missing_note(t) for t in missing))
    if m.empty:
        return _section(
            "matrix", title, _empty_note("No customer has both a segment and a score yet.")
        )
    fig = page.figure(
        "segment_propensity_matrix",
        charts.segment_matrix_chart(m),
        "Customers per segment and propensity band",
    )
    table = charts.matrix_table(m)
    bands = ", ".join(
        f"{escape(name)} = deciles {deciles[0]}-{deciles[-1]}" for name, deciles in PROPENSITY_BANDS
    )
    text = [
        f"Customers on {day(data.segment_matrix_date)} counted by segment and by how likely "
        f"they are to buy in the next {data.label_window_days} days ({bands}). The percentage "
        "is the segment's "
        "share in each band."
    ]
    high = PROPENSITY_BANDS[0][0]
    if high in table.columns and table[high].sum() > 0:
        share = table[high] / table.sum(axis=1)
        most = table[high].idxmax()
        richest = share.idxmax()
        text.append(
            f"<b>{escape(str(most))}</b> holds the most high-chance customers "
            f"({count(table.loc[most, high])}); in <b>{escape(str(richest))}</b> the largest "
            f"share of customers is in the high band ({pct(share[richest])})."
        )
        text.append(
            "A campaign aimed at likely buyers would start with the high band of these "
            "segments; the low band of a large segment is where a nudge may be needed most."
        )
    if data.segment_matrix_source == "campaign_targets":
        text.append("Counts come from the <code>campaign_targets</code> table.")
    return _section("matrix", title, _chart(fig, text))


def _migration(data: ReportData, page: Page) -> str:
    title = "Segment migration"
    mg = data.segment_migration
    if mg is None:
        return _section("migration", title, _missing_note("segment_migration"))
    if mg.empty:
        return _section(
            "migration",
            title,
            _empty_note(
                "Only one assignment date so far, so there is no movement between segments "
                "to show yet. It appears after the next daily run."
            ),
        )
    fig = page.figure(
        "segment_migration", charts.migration_chart(mg), "Customers moving between segments"
    )
    total = mg["customers"].sum()
    stayed = mg.loc[mg["is_same_segment"].fillna(False).astype(bool), "customers"].sum()
    text = [
        f"Between {day(mg['from_date'].iloc[0])} and {day(mg['to_date'].iloc[0])}, "
        f"<b>{pct(stayed / total if total else np.nan)}</b> of customers stayed in the same "
        "segment. Rows are the old segment, columns the new one; the diagonal is no move."
    ]
    moves = mg[~mg["is_same_segment"].fillna(False).astype(bool)]
    if not moves.empty and moves["customers"].max() > 0:
        top = moves.sort_values("customers", ascending=False).iloc[0]
        text.append(
            f"The biggest move was {count(top['customers'])} customers from "
            f"<b>{escape(str(top['from_segment_name']))}</b> to "
            f"<b>{escape(str(top['to_segment_name']))}</b>."
        )
    return _section("migration", title, _chart(fig, text))


def _registry_table(df: pd.DataFrame, columns, serving_id: str | None, id_col: str) -> str:
    head = "".join(f'<th class="{cls}">{escape(label)}</th>' for label, _, cls, _ in columns)
    rows = []
    ordered = df.sort_values(["trained_ts", id_col], ascending=False, na_position="last")
    for row in ordered.head(20).to_dict("records"):
        cells = []
        for _, col, cls, fmt in columns:
            if col == "__serving__":
                value = "serving" if row.get(id_col) == serving_id else ""
            else:
                value = fmt(row.get(col))
            cells.append(f'<td class="{cls}">{value}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="tablewrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _text(value) -> str:
    return "n/a" if _missing(value) else escape(str(value))


def _registry(data: ReportData, page: Page) -> str:
    title = "Model history"
    pm, sm = data.propensity_models, data.segment_models
    fig = page.figure(
        "model_history",
        charts.model_history_chart(pm, sm),
        "Model quality metrics over training time with gate thresholds",
    )
    text = [
        "Each retrain is checked against fixed quality gates (dashed lines). A model is "
        "used for scoring only if it clears every gate; otherwise the previous passing "
        "model stays in service."
    ]
    if any(
        df is not None
        and "passed_quality_gate" in df.columns
        and (~df["passed_quality_gate"].fillna(False).astype(bool)).any()
        for df in (pm, sm)
    ):
        text[0] += " Red crosses mark models that failed."
    prop_gate = gate(data.serving_propensity)
    thresholds = [
        f"{label} at least {gate_threshold(prop_gate, key):.2f}"
        for key, label in (("roc_auc", "ROC-AUC"), ("pr_auc", "PR-AUC"), ("f1", "F1"))
        if gate_threshold(prop_gate, key) is not None
    ]
    if thresholds:
        # Registry rows from before the option existed always required it.
        if prop_gate.get("must_beat_baselines", True) is False:
            versus = " (beating both baselines not required; see beats_baselines)."
        else:
            versus = ", and no baseline better beyond noise (docs/model_comparison.md)."
        text.append("Propensity gate: " + ", ".join(thresholds) + versus)
    seg_gate = gate(data.serving_segmenter)
    seg_thresholds = [
        f"{label} at least {gate_threshold(seg_gate, key):.2f}"
        for key, label in (
            ("silhouette", "silhouette"),
            ("stability", "stability"),
            ("segment_share", "smallest segment share"),
        )
        if gate_threshold(seg_gate, key) is not None
    ]
    if seg_thresholds:
        text.append("Segmenter gate: " + ", ".join(seg_thresholds) + ".")
    body = _chart(fig, text) if fig else ""

    if pm is None:
        body += "<h3>Propensity models</h3>" + _missing_note("propensity_models")
    elif pm.empty:
        body += "<h3>Propensity models</h3>" + _empty_note("No propensity model trained yet.")
    else:
        serving = (
            data.serving_propensity.get("model_id") if data.serving_propensity_is_gated else None
        )
        body += "<h3>Propensity models</h3>" + _registry_table(
            pm,
            (
                ("model", "model_id", "", _text),
                ("trained", "trained_ts", "", stamp),
                ("test month from", "test_as_of_date", "", day),
                ("ROC-AUC", "roc_auc", "num", num),
                ("PR-AUC", "pr_auc", "num", num),
                ("F1", "f1", "num", num),
                ("top-decile lift", "top_decile_lift", "num", lambda v: num(v, 2)),
                ("logreg ROC-AUC", "logreg_roc_auc", "num", num),
                ("rule ROC-AUC", "rule_roc_auc", "num", num),
                ("BG/NBD ROC-AUC", "bgnbd_roc_auc", "num", num),
                ("gate", "passed_quality_gate", "", _gate_badge),
                ("", "__serving__", "", str),
            ),
            serving,
            "model_id",
        )
    if sm is None:
        body += "<h3>Segmenters</h3>" + _missing_note("segment_models")
    elif sm.empty:
        body += "<h3>Segmenters</h3>" + _empty_note("No segmenter trained yet.")
    else:
        serving = (
            data.serving_segmenter.get("segment_model_id")
            if data.serving_segmenter_is_gated
            else None
        )
        body += "<h3>Segmenters</h3>" + _registry_table(
            sm,
            (
                ("segmenter", "segment_model_id", "", _text),
                ("trained", "trained_ts", "", stamp),
                ("k", "k", "num", count),
                ("silhouette", "silhouette", "num", num),
                ("stability", "stability_ari", "num", num),
                ("smallest segment", "smallest_segment_share", "num", lambda v: pct(v, 1)),
                ("gate", "passed_quality_gate", "", _gate_badge),
                ("", "__serving__", "", str),
            ),
            serving,
            "segment_model_id",
        )
    return _section("history", title, body)
