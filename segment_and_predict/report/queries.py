"""Reading what the report shows from a built warehouse (read-only).

Every table is optional: a warehouse built before a mart existed, or one where a
model never passed its gate, still gives a report; the missing parts are ``None``
(table absent) or empty DataFrames (table present, no rows) and the page says so.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from segment_and_predict.ml.labels import DEFAULT_LABEL_WINDOW_DAYS, window_of
from segment_and_predict.ml.propensity.scoring import PROPENSITY_BANDS

from .analysis import DriverEffects, driver_effects, projection_2d

# Propensity bands of the segment x propensity matrix (decile 1 = highest scores),
# named as campaign_targets.propensity_band names them.

# The PSI levels of the monitoring tests when the project's vars cannot be read.
PSI_WARN_DEFAULT = 0.1
PSI_FAIL_DEFAULT = 0.25
# Customers sampled (deterministically, by a hash of customer_id) for the signed
# SHAP chart and for the segment projection.
EFFECT_SAMPLE_ROWS = 2_000
PROJECTION_SAMPLE_ROWS = 3_000
KEY_COLUMNS = ("customer_id", "as_of_date")

# How many registry rows the history table and chart show (newest first).
HISTORY_ROWS = 20
TOP_FEATURES = 15


@dataclass
class ReportData:
    """Everything the page needs, read once from the warehouse."""

    warehouse_path: Path
    missing_tables: set[str] = field(default_factory=set)
    # registries
    propensity_models: pd.DataFrame | None = None
    segment_models: pd.DataFrame | None = None
    serving_propensity: dict | None = None  # the serving (or newest, see below) row
    serving_propensity_is_gated: bool = False  # False: no row passed; newest is shown
    serving_segmenter: dict | None = None
    serving_segmenter_is_gated: bool = False
    # scoring date
    latest_score_date: pd.Timestamp | None = None
    customers_scored: int | None = None
    latest_segment_date: pd.Timestamp | None = None
    # evaluation marts, filtered to the serving propensity model
    curves: pd.DataFrame | None = None
    calibration: pd.DataFrame | None = None
    gains: pd.DataFrame | None = None
    feature_importance: pd.DataFrame | None = None
    # segments
    segment_profiles: pd.DataFrame | None = None
    segment_migration: pd.DataFrame | None = None
    # customers per segment x propensity band on the latest date
    segment_matrix: pd.DataFrame | None = None
    segment_matrix_source: str | None = None
    segment_matrix_date: pd.Timestamp | None = None
    # the raw-data contract tables this build found (present, empty, absent)
    data_sources: pd.DataFrame | None = None
    # days of the label window the scores predict (the serving model's label column)
    label_window_days: int = DEFAULT_LABEL_WINDOW_DAYS
    # cut-off view: today's customers and expected buyers in the top 10/20/30/50%
    today_contact: pd.DataFrame | None = None
    # drivers with direction: signed SHAP of a sample of the scoring date's customers
    driver_effects: DriverEffects | None = None
    # segmentation diagnostics (serving segmenter)
    segment_comparison: pd.DataFrame | None = None
    projection: pd.DataFrame | None = None  # x, y, segment_name (sample), centroids apart
    projection_centroids: pd.DataFrame | None = None  # x, y, segment_name
    projection_variance: tuple[float, float] | None = None
    category_mix: pd.DataFrame | None = None  # segment_profiles' segment_name x spend_share_*
    # monitoring
    feature_drift: pd.DataFrame | None = None  # the latest date's rows
    score_drift: pd.DataFrame | None = None
    segment_drift: pd.DataFrame | None = None
    realised_performance: pd.DataFrame | None = None
    backtest: pd.DataFrame | None = None
    backtest_path: Path | None = None
    psi_warn: float = PSI_WARN_DEFAULT
    psi_fail: float = PSI_FAIL_DEFAULT
    # data quality: quarantined rows and missing values of today's features
    data_quality_issues: pd.DataFrame | None = None
    missing_values: pd.DataFrame | None = None  # feature, null_share, rows
    missing_values_date: pd.Timestamp | None = None

    @property
    def observed_rate_column(self) -> str:
        """segment_profiles' observed purchase rate, named for the label window."""
        return f"observed_purchase_rate_{self.label_window_days}d"


def default_warehouse_path() -> Path:
    """$SAP_DUCKDB_PATH, else the project default (as the build commands use)."""
    from segment_and_predict.dbt.jobs import DEFAULT_WAREHOUSE_PATH

    return Path(os.environ.get("SAP_DUCKDB_PATH") or DEFAULT_WAREHOUSE_PATH)


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """table name -> qualified name; 'main' wins when a name is in several schemas."""
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "order by case when table_schema = 'main' then 0 else 1 end, table_schema"
    ).fetchall()
    found: dict[str, str] = {}
    for schema, name in rows:
        found.setdefault(str(name).lower(), f'"{schema}"."{name}"')
    return found


def _json(value) -> dict:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return {}
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(str(value))
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _with_trained_ts(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``trained_ts`` (UTC timestamp) whatever type trained_at was stored with."""
    df = df.copy()
    if "trained_at" in df.columns:
        df["trained_ts"] = pd.to_datetime(df["trained_at"], utc=True, errors="coerce")
    else:
        df["trained_ts"] = pd.NaT
    return df


def _pick_serving(
    df: pd.DataFrame, id_col: str, serving_id: str | None = None, has_rule: bool = False
) -> tuple[dict | None, bool]:
    """The registry row serving_models names (``has_rule``: the table exists; its
    serving id may be None while no model has passed). A warehouse from before
    serving_models: the newest row with passed_quality_gate. Without a serving row,
    the newest row, flagged not gated."""
    if df is None or df.empty:
        return None, False
    ordered = df.sort_values(["trained_ts", id_col], ascending=False, na_position="last")
    if has_rule:
        named = ordered[ordered[id_col] == serving_id] if serving_id is not None else ordered[:0]
        if not named.empty:
            return named.iloc[0].to_dict(), True
        return ordered.iloc[0].to_dict(), False
    if "passed_quality_gate" in ordered.columns:
        passed = ordered[ordered["passed_quality_gate"].fillna(False).astype(bool)]
        if not passed.empty:
            return passed.iloc[0].to_dict(), True
    return ordered.iloc[0].to_dict(), False


def _missing_id(value) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA


def _to_ts(value) -> pd.Timestamp | None:
    if value is None:
        return None
    ts = pd.Timestamp(value)
    return None if pd.isna(ts) else ts


def _matrix_from_campaign_targets(
    con: duckdb.DuckDBPyConnection, qualified: str
) -> tuple[pd.DataFrame, pd.Timestamp | None] | None:
    """Segment x band counts from a campaign_targets table, if its shape is usable."""
    columns = [
        str(r[0]).lower() for r in con.execute(f"describe select * from {qualified}").fetchall()
    ]
    segment_col = "segment_name" if "segment_name" in columns else None
    band_col = next(
        (c for c in ("propensity_band", "band", "target_band") if c in columns),
        next((c for c in columns if "band" in c), None),
    )
    if segment_col is None or band_col is None:
        return None
    count_expr = "sum(customers)" if "customers" in columns else "count(*)"
    where, date = "", None
    if "as_of_date" in columns:
        date = con.execute(f"select max(as_of_date) from {qualified}").fetchall()[0][0]
        if date is not None:
            where = f"where as_of_date = (select max(as_of_date) from {qualified})"
    df = con.execute(
        f"select {segment_col} as segment_name, cast({band_col} as varchar) as band, "
        f"{count_expr} as customers from {qualified} {where} group by all"
    ).df()
    if df.empty:
        return None
    return df, _to_ts(date)


def _matrix_from_scores(
    con: duckdb.DuckDBPyConnection, segments: str, scores: str
) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    band_case = " ".join(
        f"when s.propensity_decile in ({', '.join(str(d) for d in deciles)}) then '{name}'"
        for name, deciles in PROPENSITY_BANDS
    )
    latest = con.execute(
        f"select max(c.as_of_date) from {segments} c "
        f"join (select distinct as_of_date from {scores}) d using (as_of_date)"
    ).fetchall()[0][0]
    if latest is None:
        return pd.DataFrame(columns=["segment_name", "band", "customers"]), None
    df = con.execute(
        f"""
        select c.segment_name, case {band_case} else 'Unscored' end as band,
               count(*) as customers
        from {segments} c
        join {scores} s on s.customer_id = c.customer_id and s.as_of_date = c.as_of_date
        where c.as_of_date = ?
        group by all
        """,
        [latest],
    ).df()
    return df, _to_ts(latest)


def load_report_data(warehouse_path: str | os.PathLike[str]) -> ReportData:
    """Read every table the report uses from the warehouse, opened read-only."""
    path = Path(warehouse_path)
    if not path.exists():
        raise FileNotFoundError(
            f"No warehouse at {path}. Build one first (`segment-and-predict build`) "
            "or pass --warehouse / set SAP_DUCKDB_PATH."
        )
    data = ReportData(warehouse_path=path)
    with duckdb.connect(str(path), read_only=True) as con:
        tables = _tables(con)

        def read(name: str, query: str = "select * from {t}", params=None) -> pd.DataFrame | None:
            if name not in tables:
                data.missing_tables.add(name)
                return None
            return con.execute(query.format(t=tables[name]), params or []).df()

        # registries, and the one serving rule (serving_models) when the warehouse has it
        serving_rows = read("serving_models", "select model_kind, serving_model_id from {t}")
        has_rule = serving_rows is not None
        serving_ids = (
            dict(zip(serving_rows["model_kind"], serving_rows["serving_model_id"], strict=True))
            if has_rule
            else {}
        )
        serving_ids = {k: (None if _missing_id(v) else v) for k, v in serving_ids.items()}
        pm = read("propensity_models")
        if pm is not None:
            pm = _with_trained_ts(pm)
            data.propensity_models = pm
            data.serving_propensity, data.serving_propensity_is_gated = _pick_serving(
                pm, "model_id", serving_ids.get("propensity"), has_rule
            )
            # a registry row from before label_column existed predicted 30 days
            label = (data.serving_propensity or {}).get("label_column")
            if isinstance(label, str) and label:
                data.label_window_days = window_of(label)
        sm = read("segment_models")
        if sm is not None:
            sm = _with_trained_ts(sm)
            data.segment_models = sm
            data.serving_segmenter, data.serving_segmenter_is_gated = _pick_serving(
                sm, "segment_model_id", serving_ids.get("segment"), has_rule
            )

        model_id = data.serving_propensity["model_id"] if data.serving_propensity else None

        # the run's scoring date (int_scoring_date, as the marts use it; a warehouse
        # built before it existed: the newest scoring date)
        scoring_date = _scoring_date(con, tables)
        scored = read(
            "propensity_scores",
            "select as_of_date, count(*) as customers from {t} "
            "where as_of_date = coalesce(?, (select max(as_of_date) from {t})) group by all",
            [scoring_date],
        )
        if scored is not None and not scored.empty:
            data.latest_score_date = _to_ts(scored["as_of_date"].iloc[0])
            data.customers_scored = int(scored["customers"].iloc[0])

        # evaluation marts of the serving model
        for attr, name, order in (
            ("curves", "propensity_curves", "scorer, curve, x, y"),
            ("calibration", "propensity_calibration", "probability_bin"),
            ("gains", "propensity_gains", "score_decile"),
            ("feature_importance", "propensity_feature_importance", "importance_rank"),
        ):
            df = read(name, f"select * from {{t}} where model_id = ? order by {order}", [model_id])
            setattr(data, attr, df)

        # segments
        profiles = read("segment_profiles", "select * from {t} order by customers desc")
        if profiles is not None and not profiles.empty and data.serving_segmenter:
            serving = data.serving_segmenter["segment_model_id"]
            if (profiles["segment_model_id"] == serving).any():
                profiles = profiles[profiles["segment_model_id"] == serving]
        data.segment_profiles = profiles
        if profiles is not None and any(c.startswith("spend_share_") for c in profiles.columns):
            shares = [c for c in profiles.columns if c.startswith("spend_share_")]
            data.category_mix = profiles[["segment_name", "customers", *shares]]
        data.segment_migration = read(
            "segment_migration", "select * from {t} order by from_segment_id, to_segment_id"
        )
        segments_date = read(
            "customer_segments",
            "select coalesce(max(as_of_date) filter (where as_of_date = ?), max(as_of_date)) as d "
            "from {t}",
            [scoring_date],
        )
        if segments_date is not None and not segments_date.empty:
            data.latest_segment_date = _to_ts(segments_date["d"].iloc[0])

        data.data_sources = read("data_sources", "select * from {t} order by contract_position")

        # segment x propensity matrix: campaign_targets when usable, else computed
        matrix = None
        if "campaign_targets" in tables:
            matrix = _matrix_from_campaign_targets(con, tables["campaign_targets"])
            if matrix is not None:
                data.segment_matrix_source = "campaign_targets"
        if matrix is None and "customer_segments" in tables and "propensity_scores" in tables:
            matrix = _matrix_from_scores(
                con, tables["customer_segments"], tables["propensity_scores"]
            )
            data.segment_matrix_source = "customer_segments x propensity_scores"
        if matrix is not None:
            data.segment_matrix, data.segment_matrix_date = matrix

        _load_diagnostics(con, tables, data, read)
    data.psi_warn, data.psi_fail = _psi_levels()
    _load_backtest(data)
    return data


def _scoring_date(con: duckdb.DuckDBPyConnection, tables: dict[str, str]):
    """The date of int_scoring_date (one row), or None when the table is absent or empty."""
    if "int_scoring_date" not in tables:
        return None
    rows = con.execute(f"select as_of_date from {tables['int_scoring_date']}").fetchall()
    return rows[0][0] if len(rows) == 1 else None


def _psi_levels() -> tuple[float, float]:
    """monitoring_psi_warn / monitoring_psi_fail of the project's dbt_project.yml."""
    from segment_and_predict.dbt.project import ProjectNotFoundError, find_project_dir, project_vars

    try:
        found = project_vars(find_project_dir())
    except (ProjectNotFoundError, OSError, ValueError):
        return PSI_WARN_DEFAULT, PSI_FAIL_DEFAULT
    warn, fail = found.get("monitoring_psi_warn"), found.get("monitoring_psi_fail")
    return (
        float(warn) if isinstance(warn, int | float) else PSI_WARN_DEFAULT,
        float(fail) if isinstance(fail, int | float) else PSI_FAIL_DEFAULT,
    )


def _load_backtest(data: ReportData) -> None:
    """backtest_results of `segment-and-predict backtest` (its own file beside the warehouse)."""
    path = data.warehouse_path.with_name(
        f"{data.warehouse_path.stem}_backtest{data.warehouse_path.suffix}"
    )
    data.backtest_path = path
    if not path.exists():
        return
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            if "backtest_results" in _tables(con):
                data.backtest = con.execute(
                    "select * from backtest_results order by as_of_date, method"
                ).df()
    except duckdb.Error:
        # another process holds it (a backtest running now): the section says it is absent
        data.backtest = None


def _columns(con: duckdb.DuckDBPyConnection, qualified: str) -> list[str]:
    return [str(r[0]) for r in con.execute(f"describe select * from {qualified}").fetchall()]


def _quoted(names) -> str:
    return ", ".join('"' + n.replace('"', '""') + '"' for n in names)


def _load_diagnostics(con, tables: dict[str, str], data: ReportData, read) -> None:
    """The monitoring, segmentation-diagnostics, cut-off, direction and data-quality parts."""
    # monitoring
    data.feature_drift = read(
        "monitoring_feature_drift",
        "select * from {t} where as_of_date = (select max(as_of_date) from {t}) "
        "order by psi desc nulls last, feature",
    )
    data.score_drift = read("monitoring_score_drift", "select * from {t} order by as_of_date")
    data.segment_drift = read(
        "monitoring_segment_drift", "select * from {t} order by as_of_date, segment_id"
    )
    data.realised_performance = read(
        "monitoring_realised_performance", "select * from {t} order by as_of_date"
    )
    data.data_quality_issues = read(
        "data_quality_issues", "select * from {t} order by rows_quarantined desc, table_name"
    )

    segmenter = data.serving_segmenter or {}
    segmenter_id = segmenter.get("segment_model_id")
    comparison = read(
        "segment_model_comparison",
        "select * from {t} where segment_model_id = ? order by comparison desc, k, algorithm",
        [segmenter_id],
    )
    data.segment_comparison = comparison

    if "customer_features" not in tables:
        data.missing_tables.add("customer_features")
        return
    features = tables["customer_features"]
    feature_columns = _columns(con, features)
    label = (data.serving_propensity or {}).get("label_column")

    # missing values of the scoring date's features
    score_date = data.latest_score_date
    if score_date is None:
        score_date = _to_ts(con.execute(f"select max(as_of_date) from {features}").fetchone()[0])
    checked = [
        c
        for c in feature_columns
        if c not in KEY_COLUMNS and not c.startswith("purchased_next_") and c != label
    ]
    if score_date is not None and checked:
        counts = con.execute(
            f"select count(*), {', '.join(f'count({_quoted([c])})' for c in checked)} "
            f"from {features} where as_of_date = ?",
            [score_date.date()],
        ).fetchone()
        rows = int(counts[0])
        data.missing_values = pd.DataFrame(
            {
                "feature": checked,
                "null_share": [
                    (rows - int(n)) / rows if rows else float("nan") for n in counts[1:]
                ],
                "rows": rows,
            }
        ).sort_values(["null_share", "feature"], ascending=[False, True], ignore_index=True)
        data.missing_values_date = score_date

    # today's top shares: customers and expected buyers
    if "propensity_scores" in tables and data.latest_score_date is not None:
        data.today_contact = con.execute(
            f"""
            with scores as (
                select propensity,
                       row_number() over (order by propensity desc, customer_id) as r,
                       count(*) over () as n
                from {tables["propensity_scores"]} where as_of_date = ?
            )
            select depth.share, count(*) as customers, sum(propensity) as expected_buyers
            from scores
            join (values (0.1), (0.2), (0.3), (0.5)) depth(share)
              on scores.r <= ceil(depth.share * scores.n)
            group by depth.share order by depth.share
            """,
            [data.latest_score_date.date()],
        ).df()

    _load_driver_effects(con, features, feature_columns, data)
    _load_segment_views(con, tables, features, feature_columns, data)


def _sample(con, query: str, params) -> pd.DataFrame:
    return con.execute(query, params).df()


def _load_driver_effects(con, features: str, feature_columns: list[str], data: ReportData) -> None:
    model_json = (data.serving_propensity or {}).get("model_json")
    if not isinstance(model_json, str) or data.latest_score_date is None:
        return
    from segment_and_predict.ml.propensity.model import PropensityModel

    model = PropensityModel.from_json(model_json)
    names = [n for n in model.features_ if n in feature_columns]
    if len(names) != len(model.features_):
        return  # an older feature table: the model cannot score it
    frame = _sample(
        con,
        f"select {_quoted(names)} from {features} where as_of_date = ? "
        f"order by hash(customer_id), customer_id limit {EFFECT_SAMPLE_ROWS}",
        [data.latest_score_date.date()],
    )
    if frame.empty:
        return
    contributions = model.contributions(frame)
    order = list(model.features_)
    fi = data.feature_importance
    if fi is not None and not fi.empty and "mean_abs_shap" in fi.columns:
        ranked = fi.dropna(subset=["mean_abs_shap"]).sort_values("mean_abs_shap", ascending=False)
        order = [f for f in ranked["feature_name"] if f in names] + [
            f for f in order if f not in set(ranked["feature_name"])
        ]
    data.driver_effects = driver_effects(contributions, frame, list(model.features_), order)


def _load_segment_views(
    con, tables: dict[str, str], features: str, feature_columns: list[str], data: ReportData
) -> None:
    segmenter = data.serving_segmenter or {}
    segmenter_id = segmenter.get("segment_model_id")
    if "customer_segments" not in tables or segmenter_id is None:
        return
    segments = tables["customer_segments"]
    latest = con.execute(
        "select coalesce(max(as_of_date) filter (where as_of_date = ?), max(as_of_date)) "
        f"from {segments} where segment_model_id = ?",
        [
            data.latest_segment_date.date() if data.latest_segment_date is not None else None,
            segmenter_id,
        ],
    ).fetchone()[0]
    if latest is None:
        return
    model_json = segmenter.get("model_json")
    if not isinstance(model_json, str):
        return
    from segment_and_predict.ml.segmentation.segmenter import NEW_CUSTOMER_SEGMENT_ID, Segmenter

    model = Segmenter.from_json(model_json)
    frame = _sample(
        con,
        f"select s.segment_id, s.segment_name, f.* from {segments} s join {features} f "
        "on f.customer_id = s.customer_id and f.as_of_date = s.as_of_date "
        "where s.as_of_date = ? and s.segment_model_id = ? and s.segment_id <> ? "
        f"order by hash(s.customer_id), s.customer_id limit {PROJECTION_SAMPLE_ROWS}",
        [latest, segmenter_id, NEW_CUSTOMER_SEGMENT_ID],
    )
    if len(frame) < 3:
        return
    X = model.preprocessor_.transform(frame)
    both = np.vstack([X, model.centroids_])
    points, variance = projection_2d(both)
    n = len(frame)
    data.projection = pd.DataFrame(
        {
            "x": points[:n, 0],
            "y": points[:n, 1],
            "segment_id": frame["segment_id"].to_numpy(),
            "segment_name": frame["segment_name"].to_numpy(),
        }
    )
    data.projection_centroids = pd.DataFrame(
        {
            "x": points[n:, 0],
            "y": points[n:, 1],
            "segment_id": [s["segment_id"] for s in model.segments_],
            "segment_name": [s["name"] for s in model.segments_],
        }
    )
    data.projection_variance = (float(variance[0]), float(variance[1]))


def gate(row: dict | None) -> dict:
    """The gate thresholds stored with a registry row (parsed gate_json)."""
    return _json(row.get("gate_json")) if row else {}


def gate_threshold(gate_values: dict, metric: str) -> float | None:
    """A threshold whether stored as ``metric``, ``min_metric`` or ``gate_min_metric``."""
    for key in (metric, f"min_{metric}", f"gate_min_{metric}"):
        value = gate_values.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None
