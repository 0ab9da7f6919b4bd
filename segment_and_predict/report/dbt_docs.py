"""This run's figures as a dbt doc block, so dbt docs shows them beside the overview.

``dbt docs`` renders a doc block named ``__<project name>__`` as the project's
own overview page. ``write_run_figures_doc`` writes that block from the same
data as the HTML report into ``reports/dbt_docs/`` (a docs path in
dbt_project.yml, ignored by git), so after ``segment-and-predict report`` the
next ``dbt docs generate`` shows this warehouse's figures. The general
explanation stays in ``docs/dbt/_overview.md``.
"""

from __future__ import annotations

from pathlib import Path

from .queries import ReportData

DOC_NAME = "__segment_and_predict__"


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def _escape(text: object) -> str:
    # doc blocks are Jinja: keep braces and pipes of data out of the syntax
    return str(text).replace("{", "(").replace("}", ")").replace("|", "/")


def render_run_figures(data: ReportData) -> str:
    lines = [
        f"{{% docs {DOC_NAME} %}}",
        "# This run's figures",
        "",
        "Written by `segment-and-predict report` from this warehouse; the overview page "
        "explains what the figures mean. Regenerate after each build.",
        "",
    ]
    if data.customers_scored is not None and data.latest_score_date is not None:
        lines += [
            f"**{data.customers_scored:,} customers** scored and segmented on "
            f"**{data.latest_score_date.date().isoformat()}**.",
            "",
        ]
    model = data.serving_propensity
    if model:
        lines += [
            "## Supervised: the propensity model",
            "",
            f"Serving model `{_escape(model['model_id'])}` (quality gate "
            f"{'passed' if data.serving_propensity_is_gated else 'NOT passed'}), tested on "
            f"the held-out snapshot {_escape(model.get('test_as_of_date'))}:",
            "",
            "| scorer | ROC-AUC | PR-AUC | F1 |",
            "|---|---|---|---|",
            f"| LightGBM | {_fmt(model.get('roc_auc'))} | {_fmt(model.get('pr_auc'))} "
            f"| {_fmt(model.get('f1'))} |",
        ]
        for label, prefix in (
            ("logistic regression", "logreg"),
            ("recency/frequency rule", "rule"),
        ):
            lines.append(
                f"| {label} (baseline) | {_fmt(model.get(f'{prefix}_roc_auc'))} "
                f"| {_fmt(model.get(f'{prefix}_pr_auc'))} | {_fmt(model.get(f'{prefix}_f1'))} |"
            )
        lines += ["", f"Top-decile lift: {_fmt(model.get('top_decile_lift'), 2)}x.", ""]
    segmenter = data.serving_segmenter
    if segmenter:
        lines += [
            "## Unsupervised: the segmenter",
            "",
            f"Serving segmenter `{_escape(segmenter['segment_model_id'])}`: "
            f"{_escape(segmenter.get('algorithm'))} with k = {segmenter.get('k')}, "
            f"silhouette {_fmt(segmenter.get('silhouette'))}, bootstrap stability (ARI) "
            f"{_fmt(segmenter.get('stability_ari'))}, smallest segment "
            f"{_fmt(segmenter.get('smallest_segment_share'))} of customers.",
            "",
        ]
    profiles = data.segment_profiles
    if profiles is not None and len(profiles):
        lines += ["| segment | share | mean propensity | in one sentence |", "|---|---|---|---|"]
        for row in profiles.sort_values("segment_id").itertuples():
            lines.append(
                f"| {_escape(row.segment_name)} | {_fmt(row.customer_share)} "
                f"| {_fmt(row.mean_propensity)} | {_escape(row.segment_description)} |"
            )
        lines.append("")
    missing = sorted(data.missing_tables)
    if missing:
        lines += [f"Tables not built yet: {', '.join(missing)}.", ""]
    lines.append("{% enddocs %}")
    return "\n".join(lines) + "\n"


def write_run_figures_doc(data: ReportData, out_dir: str | Path) -> Path:
    """Write the doc block to ``out_dir/run_figures.md`` and return the path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "run_figures.md"
    path.write_text(render_run_figures(data), encoding="utf-8")
    return path
