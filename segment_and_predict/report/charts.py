"""The report's charts: matplotlib figures rendered to PNG bytes (Agg, no display).

Each function takes the DataFrames from :mod:`.queries` and returns PNG bytes, or
``None`` when there is nothing to draw. Figures are ``matplotlib.figure.Figure``
objects on an Agg canvas (no pyplot state, no display), so rendering never depends
on, or changes, the process's interactive backend.
"""

from __future__ import annotations

import io
import textwrap

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from .queries import PROPENSITY_BANDS, TOP_FEATURES, gate, gate_threshold

DPI = 110
INK = "#1f2933"
GRID = "#d9dee4"
BLUE = "#1f5fa8"
ORANGE = "#e07b39"
GREY = "#8a949e"
GREEN = "#2e8b57"
RED = "#c0392b"

SCORER_STYLE = {
    "lightgbm": ("LightGBM (our model)", BLUE, "-", 2.4),
    "logistic_regression": ("Logistic regression (baseline)", ORANGE, "--", 1.6),
    "recency_frequency_rule": ("Recency/frequency rule (baseline)", GREY, ":", 1.8),
    "bgnbd": ("BG/NBD (baseline)", GREEN, "-.", 1.6),
}

BLUES = LinearSegmentedColormap.from_list("sap_blues", ["#f4f8fc", "#9cc3e6", "#1f5fa8"])

PROFILE_COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    # label, value column, ratio-to-base column (None: computed vs the weighted mean)
    ("Orders\n(last year)", "avg_orders_365d", "orders_365d_vs_base"),
    ("Spend\n(last year)", "avg_spend_365d", "spend_365d_vs_base"),
    ("Site visits\n(30 days)", "avg_sessions_30d", "sessions_30d_vs_base"),
    ("Days since\nlast order", "median_days_since_last_order", None),
    ("Email\nopen rate", "avg_email_open_rate_90d", None),
    ("Discount\nuse", "avg_discount_usage_rate_365d", None),
    ("Predicted\npurchase chance", "mean_propensity", "propensity_vs_base"),
)


def _style(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.spines[["left", "bottom"]].set_color(GRID)
    ax.tick_params(colors=INK, labelsize=9)
    ax.grid(True, color=GRID, linewidth=0.6, alpha=0.8)
    ax.set_axisbelow(True)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    return buf.getvalue()


def _new(width: float, height: float, ncols: int = 1):
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # the Agg renderer, without touching pyplot's global backend
    axes = fig.subplots(1, ncols)
    return fig, axes


def curve_auc(points: pd.DataFrame) -> float | None:
    """Area under a curve given as x/y points (trapezoids, sorted by x)."""
    if points.empty:
        return None
    p = points.sort_values(["x", "y"])
    x, y = p["x"].to_numpy(float), p["y"].to_numpy(float)
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))


def roc_pr_chart(curves: pd.DataFrame, curve: str, aucs: dict[str, float | None]) -> bytes | None:
    """ROC (curve='roc') or precision-recall (curve='pr') of the three scorers."""
    if curves is None or curves.empty:
        return None
    data = curves[curves["curve"] == curve]
    if data.empty:
        return None
    fig, ax = _new(5.6, 4.4)
    order = [s for s in SCORER_STYLE if s in set(data["scorer"])]
    order += sorted(set(data["scorer"]) - set(order))
    for scorer in order:
        label, color, style, width = SCORER_STYLE.get(scorer, (scorer, INK, "-", 1.4))
        points = data[data["scorer"] == scorer].sort_values(["x", "y"])
        auc = aucs.get(scorer)
        if auc is not None and not pd.isna(auc):
            label = f"{label}: {auc:.3f}"
        ax.plot(points["x"], points["y"], style, color=color, linewidth=width, label=label)
    if curve == "roc":
        ax.plot([0, 1], [0, 1], color=GRID, linewidth=1, label="Random guess: 0.500")
        ax.set_xlabel("Share of non-buyers flagged (false positive rate)")
        ax.set_ylabel("Share of buyers found (true positive rate)")
        ax.set_title("ROC curve (area under curve in legend)", fontsize=11, color=INK)
        ax.legend(loc="lower right", fontsize=8, frameon=False)
    else:
        ax.set_xlabel("Share of buyers found (recall)")
        ax.set_ylabel("Share of flagged customers who buy (precision)")
        ax.set_title("Precision-recall curve (area in legend)", fontsize=11, color=INK)
        ax.legend(loc="upper right", fontsize=8, frameon=False)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    _style(ax)
    return _png(fig)


def calibration_chart(calibration: pd.DataFrame) -> bytes | None:
    if calibration is None or calibration.empty:
        return None
    c = calibration.dropna(subset=["mean_predicted_probability", "observed_purchase_rate"])
    if c.empty:
        return None
    fig, ax = _new(5.6, 4.4)
    top = float(max(c["mean_predicted_probability"].max(), c["observed_purchase_rate"].max()))
    top = min(1.0, max(0.1, top * 1.08))
    ax.plot(
        [0, top], [0, top], color=GREY, linestyle="--", linewidth=1, label="Perfect calibration"
    )
    sizes = 30 + 270 * c["customers"] / max(1, c["customers"].max())
    ax.plot(
        c["mean_predicted_probability"],
        c["observed_purchase_rate"],
        color=BLUE,
        linewidth=1.6,
    )
    ax.scatter(
        c["mean_predicted_probability"],
        c["observed_purchase_rate"],
        s=sizes,
        color=BLUE,
        alpha=0.75,
        edgecolor="white",
        label="Probability bin (size = customers)",
        zorder=3,
    )
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("Predicted chance of buying (mean in bin)")
    ax.set_ylabel("Share who actually bought")
    ax.set_title("Calibration on the test month", fontsize=11, color=INK)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    _style(ax)
    return _png(fig)


def gains_chart(gains: pd.DataFrame) -> bytes | None:
    if gains is None or gains.empty:
        return None
    g = gains.sort_values("score_decile")
    fig, (left, right) = _new(10, 4.0, ncols=2)
    deciles = g["score_decile"].astype(int)
    colors = [BLUE if d <= 2 else ("#6c9fd1" if d <= 5 else "#b8cfe6") for d in deciles]
    left.bar(deciles, g["lift"], color=colors)
    left.axhline(1.0, color=RED, linestyle="--", linewidth=1)
    left.text(10.4, 1.0, " average", color=RED, fontsize=8, va="bottom", ha="right")
    for d, lift in zip(deciles, g["lift"], strict=True):
        if not pd.isna(lift):
            left.text(d, lift, f"{lift:.1f}x", ha="center", va="bottom", fontsize=8, color=INK)
    left.set_xticks(range(1, 11))
    left.set_xlabel("Score decile (1 = 10% highest scores)")
    left.set_ylabel("Purchase rate vs average (lift)")
    left.set_title("Lift by decile", fontsize=11, color=INK)
    _style(left)

    share = [0.0, *list(g["cumulative_share_of_buyers"].astype(float))]
    contacted = [0.0, *[d / 10 for d in deciles]]
    right.plot(contacted, share, color=BLUE, marker="o", linewidth=2, label="Ranking by our model")
    right.plot([0, 1], [0, 1], color=GREY, linestyle="--", linewidth=1, label="Random order")
    right.set_xlim(0, 1)
    right.set_ylim(0, 1.02)
    right.xaxis.set_major_formatter(PercentFormatter(1.0))
    right.yaxis.set_major_formatter(PercentFormatter(1.0))
    right.set_xlabel("Share of customers contacted (highest scores first)")
    right.set_ylabel("Share of all buyers reached")
    right.set_title("Cumulative gains", fontsize=11, color=INK)
    right.legend(loc="lower right", fontsize=8, frameon=False)
    _style(right)
    return _png(fig)


def readable_feature(name: str) -> str:
    return (
        str(name)
        .replace("_", " ")
        .replace(" 365d", " (year)")
        .replace(" 90d", " (90 d)")
        .replace(" 30d", " (30 d)")
        .replace(" 7d", " (7 d)")
    )


def feature_importance_chart(importance: pd.DataFrame) -> bytes | None:
    if importance is None or importance.empty:
        return None
    top = (
        importance.dropna(subset=["mean_abs_shap"])
        .sort_values("mean_abs_shap", ascending=False)
        .head(TOP_FEATURES)
    )
    if top.empty:
        return None
    top = top.iloc[::-1]
    fig, ax = _new(6.4, 0.8 + 0.3 * len(top))
    ax.barh([readable_feature(f) for f in top["feature_name"]], top["mean_abs_shap"], color=BLUE)
    ax.set_xlabel("Average effect on the score (mean |SHAP|, log-odds)")
    ax.set_title(f"Top {len(top)} purchase drivers", fontsize=11, color=INK)
    _style(ax)
    ax.grid(True, axis="x", color=GRID, linewidth=0.6)
    ax.grid(False, axis="y")
    return _png(fig)


def segment_sizes_chart(profiles: pd.DataFrame) -> bytes | None:
    if profiles is None or profiles.empty:
        return None
    p = profiles.sort_values("customers")
    fig, ax = _new(6.4, 0.9 + 0.4 * len(p))
    bars = ax.barh(p["segment_name"].astype(str), p["customers"], color=BLUE)
    total = p["customers"].sum()
    for bar, n, share in zip(bars, p["customers"], p["customer_share"], strict=True):
        share = share if not pd.isna(share) else (n / total if total else 0)
        ax.text(
            bar.get_width(),
            bar.get_y() + bar.get_height() / 2,
            f"  {int(n):,} ({share:.0%})",
            va="center",
            fontsize=8.5,
            color=INK,
        )
    ax.set_xlim(0, p["customers"].max() * 1.25)
    ax.set_xlabel("Customers")
    ax.set_title("Customers per segment", fontsize=11, color=INK)
    _style(ax)
    ax.grid(False, axis="y")
    return _png(fig)


def profile_ratios(profiles: pd.DataFrame) -> pd.DataFrame:
    """Segments x profile measures as ratios to the base (1 = average customer)."""
    weights = profiles["customers"].astype(float)
    out = {}
    for label, value_col, ratio_col in PROFILE_COLUMNS:
        if ratio_col and ratio_col in profiles.columns:
            out[label] = profiles[ratio_col].astype(float)
        elif value_col in profiles.columns:
            values = profiles[value_col].astype(float)
            mask = values.notna()
            base = (
                np.average(values[mask], weights=weights[mask])
                if mask.any() and weights[mask].sum() > 0
                else np.nan
            )
            out[label] = values / base if base and not pd.isna(base) else np.nan
    frame = pd.DataFrame(out)
    frame.index = profiles["segment_name"].astype(str).to_list()
    return frame


def segment_heatmap_chart(profiles: pd.DataFrame) -> bytes | None:
    if profiles is None or profiles.empty:
        return None
    ratios = profile_ratios(profiles.sort_values("customers", ascending=False))
    if ratios.empty:
        return None
    values = ratios.to_numpy(float)
    logs = np.log2(np.clip(values, 1 / 8, 8))
    limit = max(0.5, float(np.nanmax(np.abs(logs))) if np.isfinite(logs).any() else 1.0)
    fig, ax = _new(9.5, 1.4 + 0.5 * len(ratios))
    image = ax.imshow(
        np.ma.masked_invalid(logs),
        cmap="RdBu_r",
        norm=TwoSlopeNorm(vcenter=0, vmin=-limit, vmax=limit),
        aspect="auto",
    )
    ax.set_xticks(range(ratios.shape[1]), ratios.columns, fontsize=9)
    ax.set_yticks(range(ratios.shape[0]), ratios.index, fontsize=9)
    ax.xaxis.tick_top()
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            text = "n/a" if pd.isna(v) else f"{v:.2f}x"
            dark = not pd.isna(v) and abs(logs[i, j]) > limit * 0.6
            ax.text(j, i, text, ha="center", va="center", fontsize=8.5,
                    color="white" if dark else INK)  # fmt: skip
    colorbar = fig.colorbar(image, ax=ax, shrink=0.8, pad=0.02)
    ticks = [t for t in (-3, -2, -1, 0, 1, 2, 3) if abs(t) <= limit]
    colorbar.set_ticks(ticks, labels=[f"{2.0**t:g}x" for t in ticks])
    colorbar.set_label("vs average customer", fontsize=8)
    colorbar.ax.tick_params(labelsize=8)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return _png(fig)


def _count_heatmap(
    table: pd.DataFrame, title: str, xlabel: str, ylabel: str, row_share: bool
) -> bytes:
    values = table.to_numpy(float)
    fig, ax = _new(max(6.0, 1.8 + 1.3 * table.shape[1]), 1.2 + 0.5 * table.shape[0])
    ax.imshow(values, cmap=BLUES, aspect="auto")
    ax.set_xticks(
        range(table.shape[1]), [textwrap.fill(str(c), 14) for c in table.columns], fontsize=9
    )
    ax.set_yticks(range(table.shape[0]), [str(r) for r in table.index], fontsize=9)
    row_totals = values.sum(axis=1)
    top = values.max() if values.size else 0
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            text = f"{int(v):,}"
            if row_share and row_totals[i]:
                text += f"\n{v / row_totals[i]:.0%}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if top and v > 0.6 * top else INK)  # fmt: skip
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.set_title(title, fontsize=11, color=INK)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return _png(fig)


def matrix_table(matrix: pd.DataFrame) -> pd.DataFrame:
    """Pivot segment x band counts, bands in their natural order, biggest segments first."""
    pivot = matrix.pivot_table(
        index="segment_name", columns="band", values="customers", aggfunc="sum", fill_value=0
    )
    known = [name for name, _ in PROPENSITY_BANDS if name in pivot.columns]
    pivot = pivot[known + sorted(c for c in pivot.columns if c not in known)]
    return pivot.loc[pivot.sum(axis=1).sort_values(ascending=False).index]


def segment_matrix_chart(matrix: pd.DataFrame) -> bytes | None:
    if matrix is None or matrix.empty:
        return None
    return _count_heatmap(
        matrix_table(matrix),
        "Customers per segment and purchase-chance band",
        "Propensity band (by score decile)",
        "",
        row_share=True,
    )


def migration_table(migration: pd.DataFrame) -> pd.DataFrame:
    return migration.pivot_table(
        index="from_segment_name",
        columns="to_segment_name",
        values="customers",
        aggfunc="sum",
        fill_value=0,
    )


def migration_chart(migration: pd.DataFrame) -> bytes | None:
    if migration is None or migration.empty:
        return None
    table = migration_table(migration)
    return _count_heatmap(
        table, "Where customers moved", "Segment on the later date", "Segment before", True
    )


def _metric_history(ax, df: pd.DataFrame, metrics, title: str) -> None:
    """Metrics per training run (x = runs in time order) with each run's gate threshold."""
    df = df.sort_values("trained_ts", na_position="first").reset_index(drop=True)
    runs = np.arange(len(df))
    colors = [BLUE, ORANGE, GREEN, GREY]
    for (column, label, gate_key), color in zip(metrics, colors, strict=False):
        if column not in df.columns:
            continue
        ax.plot(runs, df[column].astype(float), marker="o", color=color, linewidth=1.6,
                label=label)  # fmt: skip
        thresholds = [gate_threshold(gate(row), gate_key) for row in df.to_dict("records")]
        drawn = False
        for run, threshold in zip(runs, thresholds, strict=True):
            if threshold is None:
                continue
            ax.hlines(threshold, run - 0.4, run + 0.4, colors=color, linestyles="--",
                      linewidth=1.2, label=None if drawn else f"{label} gate")  # fmt: skip
            drawn = True
        if "passed_quality_gate" in df.columns:
            failed = ~df["passed_quality_gate"].fillna(False).astype(bool)
            if failed.any():
                ax.scatter(runs[failed.to_numpy()], df.loc[failed, column].astype(float),
                           marker="x", color=RED, s=60, zorder=4)  # fmt: skip
    ax.set_title(title, fontsize=11, color=INK)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(-0.6, max(len(df) - 0.4, 2.4))
    step = max(1, int(np.ceil(len(df) / 8)))
    labels = ["n/a" if pd.isna(ts) else ts.strftime("%Y-%m-%d\n%H:%M") for ts in df["trained_ts"]]
    ax.set_xticks(runs[::step], labels[::step], fontsize=8)
    ax.set_xlabel("Training run (UTC)", fontsize=9)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.32), fontsize=8, frameon=False,
              ncol=2)  # fmt: skip
    _style(ax)


def model_history_chart(
    propensity_models: pd.DataFrame | None, segment_models: pd.DataFrame | None
) -> bytes | None:
    panels = []
    if propensity_models is not None and not propensity_models.empty:
        panels.append(
            (
                propensity_models,
                (
                    ("roc_auc", "ROC-AUC", "roc_auc"),
                    ("pr_auc", "PR-AUC", "pr_auc"),
                    ("f1", "F1", "f1"),
                ),
                "Propensity model (test month)",
            )
        )
    if segment_models is not None and not segment_models.empty:
        panels.append(
            (
                segment_models,
                (
                    ("silhouette", "Silhouette", "silhouette"),
                    ("stability_ari", "Stability", "stability"),
                ),
                "Segmenter",
            )
        )
    if not panels:
        return None
    fig, axes = _new(5.0 * len(panels), 4.4, ncols=len(panels))
    axes = np.atleast_1d(axes)
    for ax, (df, metrics, title) in zip(axes, panels, strict=True):
        tail = df.sort_values("trained_ts").tail(20)
        _metric_history(ax, tail, metrics, title)
    return _png(fig)
