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
import pandas as pd

from segment_and_predict.labels import DEFAULT_LABEL_WINDOW_DAYS, window_of

# Propensity bands of the segment x propensity matrix (decile 1 = highest scores).
PROPENSITY_BANDS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("High (top 20%)", (1, 2)),
    ("Medium (next 30%)", (3, 4, 5)),
    ("Low (bottom 50%)", (6, 7, 8, 9, 10)),
)

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

    @property
    def observed_rate_column(self) -> str:
        """segment_profiles' observed purchase rate, named for the label window."""
        return f"observed_purchase_rate_{self.label_window_days}d"


def default_warehouse_path() -> Path:
    """$SAP_DUCKDB_PATH, else the project default (as the build commands use)."""
    from ..jobs import DEFAULT_WAREHOUSE_PATH

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


def _pick_serving(df: pd.DataFrame, id_col: str) -> tuple[dict | None, bool]:
    """Newest row with passed_quality_gate; else the newest row (flagged not gated)."""
    if df is None or df.empty:
        return None, False
    ordered = df.sort_values(["trained_ts", id_col], ascending=False, na_position="last")
    if "passed_quality_gate" in ordered.columns:
        passed = ordered[ordered["passed_quality_gate"].fillna(False).astype(bool)]
        if not passed.empty:
            return passed.iloc[0].to_dict(), True
    return ordered.iloc[0].to_dict(), False


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

        # registries
        pm = read("propensity_models")
        if pm is not None:
            pm = _with_trained_ts(pm)
            data.propensity_models = pm
            data.serving_propensity, data.serving_propensity_is_gated = _pick_serving(
                pm, "model_id"
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
                sm, "segment_model_id"
            )

        model_id = data.serving_propensity["model_id"] if data.serving_propensity else None

        # latest scores
        scored = read(
            "propensity_scores",
            "select as_of_date, count(*) as customers from {t} "
            "where as_of_date = (select max(as_of_date) from {t}) group by all",
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
        data.segment_migration = read(
            "segment_migration", "select * from {t} order by from_segment_id, to_segment_id"
        )
        segments_date = read("customer_segments", "select max(as_of_date) as d from {t}")
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
    return data


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
