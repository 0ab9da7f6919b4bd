"""Charts of the diagnostic sections: cut-off view, signed drivers, segmentation
diagnostics, monitoring and missing values. PNG bytes or None, like :mod:`.charts`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.ticker import PercentFormatter

from .analysis import CutoffCounts, DriverEffects
from .charts import BLUE, GREEN, GREY, INK, ORANGE, RED, SCORER_STYLE, _new, _png, _style
from .charts import readable_feature as _readable

VALUE_COLOURS = LinearSegmentedColormap.from_list("sap_value", ["#2b6cb0", "#d9d9d9", "#c0392b"])
SEGMENT_COLOURS = (
    "#1f5fa8",
    "#e07b39",
    "#2e8b57",
    "#8e44ad",
    "#c0392b",
    "#16a085",
    "#b7950b",
    "#5d6d7e",
    "#d35400",
    "#7f8c8d",
)
METHOD_STYLE = {
    **SCORER_STYLE,
    "bg_nbd": ("BG/NBD (baseline)", GREEN, "-.", 1.6),
}


def _date_axis(ax, dates) -> None:
    """Readable date ticks; a single date gets a month around it instead of years."""
    locator = AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    unique = pd.to_datetime(pd.Series(dates)).dropna().unique()
    if len(unique) == 1:
        day = pd.Timestamp(unique[0])
        ax.set_xlim(day - pd.Timedelta(days=15), day + pd.Timedelta(days=15))


def _gate_line(ax, value: float | None, label: str, colour: str = RED) -> None:
    if value is not None and np.isfinite(value):
        ax.axhline(value, color=colour, linestyle="--", linewidth=1.1, label=label)


# ---------------------------------------------------------------- cut-off view


def score_histogram_chart(calibration: pd.DataFrame, counts: CutoffCounts | None) -> bytes | None:
    """Test customers per probability bin, buyers and non-buyers side by side."""
    if calibration is None or calibration.empty:
        return None
    c = calibration.sort_values("bin_lower")
    customers = c["customers"].to_numpy(float)
    buyers = np.rint(customers * c["observed_purchase_rate"].fillna(0).to_numpy(float))
    non_buyers = customers - buyers
    left = c["bin_lower"].to_numpy(float)
    width = (c["bin_upper"] - c["bin_lower"]).to_numpy(float)
    fig, ax = _new(4.6, 3.3)
    ax.bar(left, non_buyers, width=width * 0.45, align="edge", color=GREY, label="did not buy")
    ax.bar(left + width * 0.5, buyers, width=width * 0.45, align="edge", color=BLUE, label="bought")
    if counts is not None:
        ax.axvline(counts.threshold, color=RED, linestyle="--", linewidth=1.3)
        ax.text(
            counts.threshold,
            ax.get_ylim()[1] * 0.95,
            f" threshold {counts.threshold:.2f}",
            color=RED,
            fontsize=8,
            va="top",
        )
    _style(ax)
    ax.set_xlabel("Predicted purchase probability (test date)", fontsize=9)
    ax.set_ylabel("Customers", fontsize=9)
    ax.set_title("Scores of buyers and non-buyers", fontsize=11, color=INK)
    ax.legend(fontsize=8, frameon=False)
    return _png(fig)


def contact_curve_chart(gains: pd.DataFrame, contact: pd.DataFrame) -> bytes | None:
    """Share of buyers reached against share of customers contacted (test date), with
    today's expected buyers at each depth on a second axis."""
    if gains is None or gains.empty:
        return None
    g = gains.sort_values("score_decile")
    x = np.concatenate([[0.0], g["score_decile"].to_numpy(float) / 10])
    y = np.concatenate([[0.0], g["cumulative_share_of_buyers"].to_numpy(float)])
    fig, ax = _new(4.6, 3.3)
    ax.plot(x, y, color=BLUE, marker="o", markersize=3.5, linewidth=2.2, label="model (test date)")
    ax.plot([0, 1], [0, 1], color=GREY, linestyle=":", linewidth=1.4, label="random contact")
    _style(ax)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("Customers contacted (highest scores first)", fontsize=9)
    ax.set_ylabel("Share of all buyers reached", fontsize=9)
    ax.set_title("Contact the top N%", fontsize=11, color=INK)
    if contact is not None and contact["today_expected_buyers"].notna().any():
        ax2 = ax.twinx()
        ax2.bar(
            contact["share"],
            contact["today_expected_buyers"],
            width=0.035,
            color=ORANGE,
            alpha=0.55,
            label="expected buyers today",
        )
        ax2.set_ylabel("Expected buyers among today's contacts", fontsize=9, color=ORANGE)
        ax2.tick_params(colors=ORANGE, labelsize=8)
        ax2.spines[["top"]].set_visible(False)
        handles = ax.get_legend_handles_labels()
        extra = ax2.get_legend_handles_labels()
        ax.legend(handles[0] + extra[0], handles[1] + extra[1], fontsize=8, frameon=False)
    else:
        ax.legend(fontsize=8, frameon=False)
    return _png(fig)


# ---------------------------------------------------------------- drivers


def driver_direction_chart(effects: DriverEffects | None) -> bytes | None:
    """Beeswarm-like strip per feature: each dot a customer at its SHAP value, coloured
    by how high the customer's value of the feature is (blue low, red high)."""
    if effects is None or not effects.features or effects.rows == 0:
        return None
    k = len(effects.features)
    fig, ax = _new(7.2, 0.45 * k + 1.4)
    rng = np.random.default_rng(0)
    for j in range(k):
        row = k - 1 - j
        shap = effects.shap[:, j]
        ranks = effects.value_rank[:, j]
        jitter = rng.uniform(-0.28, 0.28, size=shap.size)
        known = np.isfinite(ranks)
        ax.scatter(
            shap[~known],
            row + jitter[~known],
            s=4,
            color="#9aa5b1",
            alpha=0.6,
            linewidths=0,
        )
        ax.scatter(
            shap[known],
            row + jitter[known],
            s=4,
            c=ranks[known],
            cmap=VALUE_COLOURS,
            vmin=0,
            vmax=1,
            alpha=0.75,
            linewidths=0,
        )
    ax.axvline(0, color=INK, linewidth=0.8)
    ax.set_yticks(range(k))
    ax.set_yticklabels([_readable(n) for n in reversed(effects.features)], fontsize=8)
    _style(ax)
    ax.grid(False, axis="y")
    ax.set_xlabel("Effect on the score (SHAP, log-odds): left lowers, right raises", fontsize=9)
    ax.set_title(
        "Direction of each driver (dot colour: blue = low value, red = high value, grey = missing)",
        fontsize=10,
        color=INK,
    )
    return _png(fig)


# ---------------------------------------------------------------- segmentation


def k_selection_chart(comparison: pd.DataFrame, chosen_k: int | None) -> bytes | None:
    """Silhouette and stability of KMeans at every k tried, the chosen k marked."""
    if comparison is None or comparison.empty:
        return None
    ks = comparison[comparison["comparison"] == "k_selection"].sort_values("k")
    if ks.empty:
        return None
    fig, ax = _new(6.0, 3.4)
    ax.plot(ks["k"], ks["silhouette"], color=BLUE, marker="o", linewidth=2, label="silhouette")
    ax.plot(
        ks["k"], ks["stability_ari"], color=ORANGE, marker="s", linewidth=2, label="stability (ARI)"
    )
    if chosen_k is not None:
        ax.axvline(
            chosen_k, color=GREEN, linestyle="--", linewidth=1.3, label=f"chosen k = {chosen_k}"
        )
    failed = ks[~ks["passes_gate"].fillna(False).astype(bool)]
    if not failed.empty:
        ax.scatter(
            failed["k"],
            failed["silhouette"],
            marker="x",
            color=RED,
            s=50,
            zorder=5,
            label="fails a gate",
        )
    _style(ax)
    ax.set_xticks(ks["k"].astype(int).tolist())
    ax.set_xlabel("Number of segments (k)", fontsize=9)
    ax.set_ylim(0, 1.05)
    ax.set_title("Choosing the number of segments", fontsize=11, color=INK)
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    return _png(fig)


def projection_chart(
    points: pd.DataFrame, centroids: pd.DataFrame | None, variance: tuple[float, float] | None
) -> bytes | None:
    """A sample of customers in the segmenter's space (first two principal components)."""
    if points is None or points.empty:
        return None
    fig, ax = _new(6.8, 4.6)
    # colours and centres matched by segment_id; names as the assignments give them
    ids = sorted(points["segment_id"].unique())
    for i, segment_id in enumerate(ids):
        part = points[points["segment_id"] == segment_id]
        colour = SEGMENT_COLOURS[i % len(SEGMENT_COLOURS)]
        name = str(part["segment_name"].iloc[0])
        ax.scatter(part["x"], part["y"], s=6, alpha=0.45, color=colour, linewidths=0, label=name)
        if centroids is not None:
            c = centroids[centroids["segment_id"] == segment_id]
            ax.scatter(c["x"], c["y"], s=110, marker="X", color=colour, edgecolors="white")
    _style(ax)
    if variance is not None:
        ax.set_xlabel(f"First component ({variance[0]:.0%} of the spread)", fontsize=9)
        ax.set_ylabel(f"Second component ({variance[1]:.0%})", fontsize=9)
    ax.set_title("Customers in the segmenter's space (X = segment centre)", fontsize=11, color=INK)
    ax.legend(fontsize=8, frameon=False, markerscale=2.5, loc="best")
    return _png(fig)


# ---------------------------------------------------------------- monitoring


def feature_drift_chart(drift: pd.DataFrame, warn: float, fail: float, top: int = 12):
    if drift is None or drift.empty:
        return None
    d = drift.dropna(subset=["psi"]).sort_values("psi", ascending=False).head(top)
    if d.empty:
        return None
    d = d.iloc[::-1]
    colours = [RED if p > fail else ORANGE if p > warn else BLUE for p in d["psi"]]
    fig, ax = _new(6.6, 0.32 * len(d) + 1.3)
    ax.barh([_readable(f) for f in d["feature"]], d["psi"], color=colours)
    ax.axvline(warn, color=ORANGE, linestyle="--", linewidth=1.1, label=f"warn {warn:g}")
    ax.axvline(fail, color=RED, linestyle="--", linewidth=1.1, label=f"fail {fail:g}")
    _style(ax)
    ax.tick_params(axis="y", labelsize=8)
    ax.set_xlabel("Population stability index against the training rows", fontsize=9)
    ax.set_title("Features that moved the most", fontsize=11, color=INK)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    return _png(fig)


def drift_over_time_chart(
    score_drift: pd.DataFrame | None, segment_drift: pd.DataFrame | None, warn: float, fail: float
) -> bytes | None:
    series = []
    if score_drift is not None and not score_drift.empty:
        s = score_drift.groupby("as_of_date", as_index=False)["psi"].max()
        series.append(("score distribution", s["as_of_date"], s["psi"], BLUE, "o"))
    if segment_drift is not None and not segment_drift.empty:
        s = segment_drift.groupby("as_of_date", as_index=False)["psi_vs_training"].max()
        series.append(("segment shares", s["as_of_date"], s["psi_vs_training"], ORANGE, "s"))
    if not series:
        return None
    fig, ax = _new(6.6, 3.4)
    for label, x, y, colour, marker in series:
        ax.plot(pd.to_datetime(x), y, color=colour, marker=marker, linewidth=2, label=label)
    _date_axis(ax, pd.concat([pd.Series(list(x)) for _, x, _, _, _ in series]))
    _gate_line(ax, warn, f"warn {warn:g}", ORANGE)
    _gate_line(ax, fail, f"fail {fail:g}", RED)
    _style(ax)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("PSI against training", fontsize=9)
    ax.set_title("Score and segment drift by scoring date", fontsize=11, color=INK)
    ax.legend(fontsize=8, frameon=False)
    return _png(fig)


def realised_performance_chart(
    realised: pd.DataFrame | None, gates: dict[str, float | None]
) -> bytes | None:
    """Realised ROC-AUC and PR-AUC by scoring date, with the test figures and the gates."""
    if realised is None or realised.empty:
        return None
    r = realised.sort_values("as_of_date")
    x = pd.to_datetime(r["as_of_date"])
    fig, axes = _new(9.6, 3.4, ncols=2)
    for ax, metric, label in ((axes[0], "roc_auc", "ROC-AUC"), (axes[1], "pr_auc", "PR-AUC")):
        ax.plot(x, r[metric], color=BLUE, marker="o", linewidth=2, label="realised")
        test = f"model_test_{metric}"
        if test in r.columns:
            ax.plot(x, r[test], color=GREY, linestyle=":", marker=".", label="at training (test)")
        _gate_line(ax, gates.get(metric), "gate")
        _style(ax)
        ax.set_title(f"Realised {label}", fontsize=11, color=INK)
        ax.legend(fontsize=8, frameon=False)
        _date_axis(ax, x)
    return _png(fig)


def backtest_chart(backtest: pd.DataFrame | None, gates: dict[str, float | None]) -> bytes | None:
    """Realised ROC-AUC and PR-AUC of each method at each backtest date."""
    if backtest is None or backtest.empty:
        return None
    b = backtest.dropna(subset=["roc_auc"]).sort_values("as_of_date")
    if b.empty:
        return None
    fig, axes = _new(9.6, 3.4, ncols=2)
    for ax, metric, label in ((axes[0], "roc_auc", "ROC-AUC"), (axes[1], "pr_auc", "PR-AUC")):
        for method, part in b.groupby("method", sort=False):
            name, colour, style, width = METHOD_STYLE.get(method, (method, INK, "-", 1.5))
            ax.plot(
                pd.to_datetime(part["as_of_date"]),
                part[metric],
                color=colour,
                linestyle=style,
                linewidth=width,
                marker="o",
                markersize=3.5,
                label=name,
            )
        _gate_line(ax, gates.get(metric), "gate")
        _style(ax)
        ax.set_title(f"Backtest {label} by date", fontsize=11, color=INK)
        _date_axis(ax, b["as_of_date"])
    axes[0].legend(fontsize=7.5, frameon=False)
    return _png(fig)


# ---------------------------------------------------------------- data quality


def missing_values_chart(missing: pd.DataFrame | None, top: int = 15) -> bytes | None:
    if missing is None or missing.empty:
        return None
    m = missing.sort_values(["null_share", "feature"], ascending=[False, True]).head(top)
    m = m.iloc[::-1]
    fig, ax = _new(6.6, 0.3 * len(m) + 1.3)
    ax.barh([_readable(f) for f in m["feature"]], m["null_share"], color=BLUE)
    _style(ax)
    ax.set_xlim(0, max(0.05, float(m["null_share"].max()) * 1.1))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.tick_params(axis="y", labelsize=8)
    ax.set_xlabel("Share of today's customers with no value", fontsize=9)
    ax.set_title("Missing values by feature", fontsize=11, color=INK)
    return _png(fig)
