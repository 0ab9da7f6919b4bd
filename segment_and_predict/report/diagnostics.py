"""The report's diagnostic sections: the cut-off view, the drivers' direction,
segmentation diagnostics, monitoring and data quality.

Each ``name(data, page)`` returns one ``<section>``; :mod:`.page` puts them in order.
"""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd

from . import diagnostic_charts as charts
from .analysis import CutoffCounts, contact_table, cutoff_counts
from .charts import readable_feature
from .layout import (
    Page,
    _chart,
    _empty_note,
    _missing,
    _missing_note,
    _section,
    count,
    day,
    num,
    pct,
)
from .queries import ReportData, gate, gate_threshold


def _table(headers: list[tuple[str, str]], rows: list[list[str]]) -> str:
    """headers: (label, css class); rows: cells already escaped/formatted."""
    head = "".join(f'<th class="{cls}">{escape(label)}</th>' for label, cls in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{cls}">{cell}</td>' for (_, cls), cell in zip(headers, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<div class="tablewrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _whole(value) -> str:
    """A count that is an expectation (a sum of probabilities), rounded."""
    return "n/a" if _missing(value) else f"{round(float(value)):,}"


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


def cutoff(data: ReportData, page: Page) -> str:
    title = "At the cut-off: whom to contact"
    if data.serving_propensity is None:
        return _section("cutoff", title, _missing_note("propensity_models"))
    counts = _counts(data)
    parts = []
    if counts is not None:
        confusion = _table(
            [("", ""), ("bought", "num"), ("did not buy", "num"), ("total", "num")],
            [
                [
                    "<b>contacted</b> (score at or above the threshold)",
                    count(counts.true_positives),
                    count(counts.false_positives),
                    count(counts.contacted),
                ],
                [
                    "<b>not contacted</b>",
                    count(counts.false_negatives),
                    count(counts.true_negatives),
                    count(counts.customers - counts.contacted),
                ],
                [
                    "total",
                    count(counts.buyers),
                    count(counts.customers - counts.buyers),
                    count(counts.customers),
                ],
            ],
        )
        precision = counts.true_positives / counts.contacted if counts.contacted else np.nan
        recall = counts.true_positives / counts.buyers if counts.buyers else np.nan
        parts.append(
            f"<p>On the held-out test date {day(data.serving_propensity.get('test_as_of_date'))}"
            f", contacting every customer whose score is at least the stored threshold "
            f"<b>{num(counts.threshold, 2)}</b> (chosen on the validation date for the best F1) "
            f"reaches {count(counts.true_positives)} of {count(counts.buyers)} buyers "
            f"({pct(recall)}); {pct(precision)} of those contacted bought. These are the "
            "model's figures before its final refit on every labelled date, so they are "
            "out-of-sample.</p>" + confusion
        )
    else:
        parts.append(
            _empty_note("The serving model's registry row has no test counts (older warehouse).")
        )

    gains = data.gains
    if gains is not None and not gains.empty:
        contact = contact_table(gains, data.today_contact)
        rows = [
            [
                f"top {pct(r['share'])}",
                count(r["test_customers"]),
                count(r["test_buyers"]),
                pct(r["precision"]),
                pct(r["share_of_buyers"]),
                num(r["lift"], 2),
                count(r["today_customers"]),
                _whole(r["today_expected_buyers"]),
            ]
            for r in contact.to_dict("records")
        ]
        parts.append(
            "<h3>Contact the top N%</h3>"
            + _table(
                [
                    ("contact", ""),
                    ("test: contacted", "num"),
                    ("test: buyers reached", "num"),
                    ("test: bought", "num"),
                    ("test: share of all buyers", "num"),
                    ("lift", "num"),
                    (f"today ({day(data.latest_score_date)}): customers", "num"),
                    ("today: expected buyers", "num"),
                ],
                rows,
            )
            + "<p>Expected buyers today is the sum of today's purchase probabilities in that "
            "top share: what the scores predict a campaign of that size would reach.</p>"
        )
    hist = page.figure(
        "score_histogram",
        charts.score_histogram_chart(data.calibration, counts),
        "Test-date scores of buyers and non-buyers with the threshold",
    )
    curve = page.figure(
        "contact_curve",
        charts.contact_curve_chart(gains, contact_table(gains, data.today_contact))
        if gains is not None and not gains.empty
        else None,
        "Share of buyers reached by contacting the top N% of scores",
    )
    if hist or curve:
        parts.append(
            f'<div class="pair">{hist}{curve}</div>'
            "<p>The first chart: how the test customers' scores fall, buyers and non-buyers "
            "apart; the dashed line is the threshold. The second: the share of all buyers a "
            "campaign reaches when it contacts the highest-scoring customers first, against "
            "random contact, with today's expected buyers at each depth.</p>"
        )
    return _section("cutoff", title, "".join(parts))


# ---------------------------------------------------------------- drivers with direction


def driver_direction(data: ReportData, page: Page) -> str:
    title = "Which way each driver pushes"
    effects = data.driver_effects
    if effects is None or not effects.features:
        if data.serving_propensity is None or "customer_features" in data.missing_tables:
            return _section(
                "direction",
                title,
                _missing_note(
                    "customer_features"
                    if "customer_features" in data.missing_tables
                    else "propensity_models"
                ),
            )
        return _section(
            "direction",
            title,
            _empty_note("The serving model cannot be read back or no customer is scored yet."),
        )
    fig = page.figure(
        "driver_direction",
        charts.driver_direction_chart(effects),
        "Signed SHAP values of a sample of customers for the top features",
    )
    text = [
        f"Each dot is one of {count(effects.rows)} customers of {day(data.latest_score_date)} "
        "(a fixed sample): where it sits shows how much that fact raised (right) or lowered "
        "(left) the customer's score, its colour how high the customer's value is. Features "
        "are in the order of the importance chart above."
    ]
    q = effects.quintiles
    rows = []
    for name in effects.features[:8]:
        part = q[(q["feature"] == name) & (q["quintile"] > 0)].sort_values("quintile")
        if part.empty:
            continue
        low, high = part.iloc[0], part.iloc[-1]
        missing = q[(q["feature"] == name) & (q["quintile"] == 0)]
        if high["mean_shap"] > low["mean_shap"]:
            direction = "higher values raise the chance"
        else:
            direction = "higher values lower the chance"
        rows.append(
            [
                escape(readable_feature(name)),
                f"{num(low['mean_value'], 2)} &rarr; {num(low['mean_shap'], 2)}",
                f"{num(high['mean_value'], 2)} &rarr; {num(high['mean_shap'], 2)}",
                num(missing["mean_shap"].iloc[0], 2) if not missing.empty else "",
                direction,
            ]
        )
    table = ""
    if rows:
        table = (
            "<h3>Signed effect by feature quintile</h3>"
            + _table(
                [
                    ("feature", ""),
                    ("lowest fifth: mean value → mean effect", "num"),
                    ("highest fifth: mean value → mean effect", "num"),
                    ("missing: mean effect", "num"),
                    ("direction", ""),
                ],
                rows,
            )
            + "<p>Effects are in log-odds (0 = no change; +0.5 multiplies the odds by about "
            "1.65). Categorical features appear in the chart in grey.</p>"
        )
    return _section("direction", title, _chart(fig, text) + table)


# ---------------------------------------------------------------- segmentation diagnostics


def segment_diagnostics(data: ReportData, page: Page) -> str:
    title = "How the segmenter was chosen"
    comparison = data.segment_comparison
    if comparison is None:
        return _section("segment_diagnostics", title, _missing_note("segment_model_comparison"))
    chosen = (data.serving_segmenter or {}).get("k")
    chosen_k = None if _missing(chosen) else int(chosen)
    parts = []
    fig = page.figure(
        "segment_k_selection",
        charts.k_selection_chart(comparison, chosen_k),
        "Silhouette and stability of KMeans by number of segments",
    )
    ks = comparison[comparison["comparison"] == "k_selection"].sort_values("k")
    others = sorted(
        {
            str(a).replace("_", " ")
            for a in comparison.loc[comparison["comparison"] != "k_selection", "algorithm"]
            if str(a) != "kmeans"
        }
    )
    if fig:
        parts.append(
            _chart(
                fig,
                [
                    "Silhouette measures how well separated the segments are (higher is "
                    "better); stability how alike the segments come out when refit on "
                    "resampled customers (adjusted Rand index, 1 = identical). The "
                    f"segmenter took <b>k = {count(chosen_k)}</b>: among the k that pass "
                    "every gate (k range, silhouette, stability, smallest segment share), "
                    "the one with the highest silhouette x stability.",
                ],
            )
        )
    table_rows = [
        [
            escape(str(r["comparison"]).replace("_", " ")),
            escape(str(r["algorithm"])),
            count(r["k"]),
            num(r["silhouette"]),
            num(r["stability_ari"]),
            num(r["davies_bouldin"], 2),
            pct(r["smallest_segment_share"], 1),
            "yes" if r["passes_gate"] is True or r["passes_gate"] == 1 else "no",
        ]
        for r in comparison.to_dict("records")
    ]
    if table_rows:
        parts.append(
            "<h3>Every candidate, and the other algorithms at the chosen k</h3>"
            + _table(
                [
                    ("comparison", ""),
                    ("algorithm", ""),
                    ("k", "num"),
                    ("silhouette", "num"),
                    ("stability", "num"),
                    ("Davies-Bouldin", "num"),
                    ("smallest segment", "num"),
                    ("passes gate", ""),
                ],
                table_rows,
            )
            + (
                f"<p>The algorithm comparison fits {escape(', '.join(others))} on the same "
                "data at the same k; KMeans is kept because it assigns new customers to "
                "fixed centres, which keeps segments stable from day to day "
                "(docs/segmentation.md).</p>"
                if others
                else ""
            )
        )
    elif ks.empty:
        parts.append(_empty_note("The serving segmenter recorded no comparison."))
    proj = page.figure(
        "segment_projection",
        charts.projection_chart(
            data.projection, data.projection_centroids, data.projection_variance
        ),
        "A sample of customers projected on two principal components, coloured by segment",
    )
    if proj:
        parts.append(
            "<h3>The segments in two dimensions</h3>"
            + _chart(
                proj,
                [
                    f"{count(len(data.projection))} customers (a fixed sample; new customers, "
                    "who are placed by a rule and not clustered, are left out) in the "
                    "segmenter's own scaled space, flattened to its two main directions. "
                    "Overlap here does not mean the segments overlap: the other directions "
                    "separate them too."
                ],
            )
        )
    return _section("segment_diagnostics", title, "".join(parts))


def category_mix_html(data: ReportData) -> str:
    """Each category group's share of each segment's spend (segment_profiles), as a table."""
    mix = data.category_mix
    if mix is None or mix.empty:
        return ""
    shares = [c for c in mix.columns if c.startswith("spend_share_")]
    headers = [("segment", ""), ("customers", "num")] + [
        (c.removeprefix("spend_share_"), "num") for c in shares
    ]
    rows = [
        [escape(str(r["segment_name"])), count(r["customers"])] + [pct(r[c]) for c in shares]
        for r in mix.to_dict("records")
    ]
    return (
        "<h3>Category mix: what each segment buys</h3>"
        + _table(headers, rows)
        + "<p>The segment's mean share of spend on each category group over the look-back "
        "(<code>segment_profiles.spend_share_*</code>; customers with no order lines are "
        "left out, n/a: none has any). The segmenter uses each customer's shares, so "
        "segments can differ by what they buy as well as by how much.</p>"
    )


def category_mix_line(data: ReportData, segment_name: str, top: int = 3) -> str:
    """'Spend mix: electronics 31%, home 22%, fashion 18%' for one segment's card."""
    mix = data.category_mix
    if mix is None or mix.empty:
        return ""
    row = mix[mix["segment_name"].astype(str) == segment_name]
    if row.empty:
        return ""
    shares = row.iloc[0][[c for c in mix.columns if c.startswith("spend_share_")]]
    shares = pd.to_numeric(shares, errors="coerce").dropna().sort_values(ascending=False)
    if shares.empty:
        return ""
    listed = ", ".join(
        f"{escape(name.removeprefix('spend_share_'))} {pct(value)}"
        for name, value in shares.head(top).items()
    )
    return f" Spend mix: {listed}."


# ---------------------------------------------------------------- monitoring


def monitoring(data: ReportData, page: Page) -> str:
    title = "Monitoring: drift and realised performance"
    parts = []
    warn, fail = data.psi_warn, data.psi_fail
    drift = data.feature_drift
    if drift is None:
        parts.append("<h3>Feature drift</h3>" + _missing_note("monitoring_feature_drift"))
    elif drift.empty:
        parts.append("<h3>Feature drift</h3>" + _empty_note("No feature drift measured yet."))
    else:
        fig = page.figure(
            "feature_drift",
            charts.feature_drift_chart(drift, warn, fail),
            "Features with the largest PSI against the training rows",
        )
        above_warn = int((drift["psi"] > warn).sum())
        above_fail = int((drift["psi"] > fail).sum())
        worst = drift.head(8)
        table = _table(
            [
                ("feature", ""),
                ("PSI", "num"),
                ("mean at training", "num"),
                ("mean today", "num"),
                ("missing at training", "num"),
                ("missing today", "num"),
            ],
            [
                [
                    escape(readable_feature(str(r["feature"]))),
                    num(r["psi"]),
                    num(r.get("reference_mean"), 2),
                    num(r.get("current_mean"), 2),
                    pct(r.get("reference_null_share"), 1),
                    pct(r.get("current_null_share"), 1),
                ]
                for r in worst.to_dict("records")
            ],
        )
        parts.append(
            "<h3>Feature drift</h3>"
            + _chart(
                fig,
                [
                    f"On {day(drift['as_of_date'].iloc[0])}, {count(len(drift))} model inputs "
                    f"were compared with the rows the serving model was trained on: "
                    f"<b>{above_warn}</b> above the warning level {warn:g} and "
                    f"<b>{above_fail}</b> above the failing level {fail:g} (population "
                    "stability index; the dbt tests on <code>monitoring_feature_drift</code> "
                    "warn and fail at the same levels, calendar ages excepted). "
                    "docs/monitoring.md says what to do when one moves."
                ],
            )
            + table
        )
    if data.score_drift is None and data.segment_drift is None:
        parts.append("<h3>Score and segment drift</h3>" + _missing_note("monitoring_score_drift"))
    else:
        fig = page.figure(
            "drift_over_time",
            charts.drift_over_time_chart(data.score_drift, data.segment_drift, warn, fail),
            "PSI of the score distribution and segment shares by scoring date",
        )
        dates = data.score_drift["as_of_date"].nunique() if data.score_drift is not None else 0
        parts.append(
            "<h3>Score and segment drift</h3>"
            + (
                _chart(
                    fig,
                    [
                        f"One point per scoring date ({count(dates)} so far): how far the "
                        "day's score distribution and segment shares are from those at "
                        "training. A rise towards the dashed lines is the signal to look at "
                        "the feature drift and consider a retrain."
                    ],
                )
                if fig
                else _empty_note("No scoring date measured yet.")
            )
        )
    parts.append(_realised(data, page))
    parts.append(_backtest(data, page))
    return _section("monitoring", title, "".join(parts))


def _realised(data: ReportData, page: Page) -> str:
    head = "<h3>Realised performance</h3>"
    r = data.realised_performance
    if r is None:
        return head + _missing_note("monitoring_realised_performance")
    if r.empty:
        return head + _empty_note(
            f"No scoring date is {data.label_window_days} days old yet: realised performance "
            "appears once the orders after a scoring date are known."
        )
    gates = _propensity_gates(data)
    fig = page.figure(
        "realised_performance",
        charts.realised_performance_chart(r, gates),
        "Realised ROC-AUC and PR-AUC by scoring date with the gates",
    )
    last = r.sort_values("as_of_date").iloc[-1]
    return head + _chart(
        fig,
        [
            f"For each scoring date whose {data.label_window_days}-day window has closed, the "
            "stored scores are compared with who actually bought. Latest: "
            f"{day(last['as_of_date'])}, ROC-AUC {num(last['roc_auc'])}, PR-AUC "
            f"{num(last['pr_auc'])} ({count(last['buyers'])} of {count(last['customers'])} "
            "customers bought). The dashed line is the gate a new model must clear.",
        ],
        wide=True,
    )


def _backtest(data: ReportData, page: Page) -> str:
    head = "<h3>Backtest over dates</h3>"
    b = data.backtest
    if b is None or b.empty:
        return head + _empty_note(
            "No backtest beside this warehouse "
            f"({data.backtest_path.name if data.backtest_path else 'n/a'}). "
            "`segment-and-predict backtest --from DATE --to DATE --every 30d` trains and scores "
            "as of each date and measures each method on the orders that followed "
            "(docs/backtest.md); the next report shows it here."
        )
    gates = _propensity_gates(data)
    fig = page.figure(
        "backtest",
        charts.backtest_chart(b, gates),
        "Backtest ROC-AUC and PR-AUC of each method by date",
    )
    closed = b.dropna(subset=["roc_auc"])
    summary = (
        closed.groupby("method", sort=False)[["roc_auc", "pr_auc"]]
        .agg(["mean", "min", "max"])
        .reset_index()
    )
    rows = [
        [
            escape(str(r[("method", "")])),
            num(r[("roc_auc", "mean")]),
            f"{num(r[('roc_auc', 'min')])}–{num(r[('roc_auc', 'max')])}",
            num(r[("pr_auc", "mean")]),
            f"{num(r[('pr_auc', 'min')])}–{num(r[('pr_auc', 'max')])}",
        ]
        for _, r in summary.iterrows()
    ]
    dates = closed["as_of_date"].nunique()
    return (
        head
        + _chart(
            fig,
            [
                f"Walk-forward backtest over {count(dates)} dates with closed label windows "
                f"({day(closed['as_of_date'].min())} to {day(closed['as_of_date'].max())}): as of "
                "each date the model is trained on what was known then and scored on the orders "
                "that followed, beside the baselines."
            ],
            wide=True,
        )
        + _table(
            [
                ("method", ""),
                ("mean ROC-AUC", "num"),
                ("range", "num"),
                ("mean PR-AUC", "num"),
                ("range", "num"),
            ],
            rows,
        )
    )


# ---------------------------------------------------------------- data quality


def data_quality(data: ReportData, page: Page) -> str:
    title = "Data quality and missing values"
    parts = []
    issues = data.data_quality_issues
    if issues is None:
        parts.append(_missing_note("data_quality_issues"))
    elif issues.empty or issues["rows_quarantined"].fillna(0).sum() == 0:
        parts.append(
            "<p>No row of the export was quarantined: every row passed the bad-input rules "
            "(duplicate keys, impossible values, unparseable or future dates; "
            "docs/bad_inputs.md).</p>"
        )
    else:
        total = int(issues["rows_quarantined"].fillna(0).sum())
        parts.append(
            f"<p><b>{count(total)}</b> rows of the export were quarantined (kept out of the "
            "features, listed in <code>data_quality_issues</code> with an example key; "
            "docs/bad_inputs.md).</p>"
            + _table(
                [
                    ("table", ""),
                    ("rule", ""),
                    ("column", ""),
                    ("rows", "num"),
                    ("share of table", "num"),
                    ("example key", ""),
                ],
                [
                    [
                        escape(str(r["table_name"])),
                        escape(str(r["rule"])),
                        escape("" if _missing(r.get("column_name")) else str(r["column_name"])),
                        count(r["rows_quarantined"]),
                        pct(r.get("quarantined_share"), 2),
                        escape("" if _missing(r.get("example_key")) else str(r["example_key"])),
                    ]
                    for r in issues.to_dict("records")
                ],
            )
        )
    missing = data.missing_values
    if missing is None:
        parts.append(_missing_note("customer_features"))
    else:
        fig = page.figure(
            "missing_values",
            charts.missing_values_chart(missing),
            "Share of missing values by feature on the scoring date",
        )
        with_gaps = missing[missing["null_share"] > 0]
        text = [
            f"Of {count(len(missing))} features on {day(data.missing_values_date)} "
            f"({count(missing['rows'].iloc[0] if len(missing) else 0)} customers), "
            f"<b>{count(len(with_gaps))}</b> have missing values. Most are expected: no order "
            "in the window means no average order value, no support ticket no resolution "
            "time. The model takes missing values as they are (LightGBM learns a direction "
            "for them); the segmenter imputes them and adds an indicator. A share that jumps "
            "from one day to the next is an export problem (see the feature drift above)."
        ]
        parts.append("<h3>Missing values</h3>" + _chart(fig, text))
    return _section("data_quality", title, "".join(parts))
