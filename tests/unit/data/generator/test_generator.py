"""Tests of the synthetic data generator (segment_and_predict.data.generator).

Data is generated once per session: a small sample twice with the same seed and
once with another seed (determinism), and a medium sample (rates, integrity),
plus a medium sample with a lower target buyer rate.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from segment_and_predict.cli import main
from segment_and_predict.data.contract import REQUIRED_TABLES, TABLES, TABLES_BY_NAME
from segment_and_predict.data.generator import GeneratorConfig, generate
from segment_and_predict.data.generator import config as gc
from segment_and_predict.data.generator.writer import RawWriter

SMALL = 2_000
MEDIUM = 25_000
END_DATE = dt.date(2026, 10, 31)
WINDOW = GeneratorConfig(customers=1).window
WINDOW_START = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=WINDOW.start_us)
WINDOW_END = dt.datetime(2026, 11, 1)
CUTOFF = WINDOW_END - dt.timedelta(days=30)

# Arrow types accepted for each contract type (ids may be strings or integers).
ACCEPTED_TYPES = {
    "VARCHAR": {pa.string(), pa.large_string()},
    "TIMESTAMP": {pa.timestamp("us")},
    "DOUBLE": {pa.float64()},
    "INTEGER": {pa.int32()},
    "BOOLEAN": {pa.bool_()},
}
ID_TYPES = {pa.int64(), pa.int32(), pa.string(), pa.large_string()}
HIDDEN = {
    "label",
    "purchased_next_30d",
    "rate",
    "lapse",
    "react",
    "engagement",
    "discount",
    "season_amp",
    "return_prop",
    "ticket_prop",
    "basket",
    "app_user",
    "email_freq",
    "active",
    "is_active",
}


@pytest.fixture(scope="session")
def small_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gen_small")
    runs = {"a": root / "a", "b": root / "b", "other_seed": root / "c"}
    generate(SMALL, runs["a"], seed=7)
    generate(SMALL, runs["b"], seed=7)
    generate(SMALL, runs["other_seed"], seed=8)
    return runs


@pytest.fixture(scope="session")
def medium(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen_medium")
    generate(MEDIUM, out)
    return out


@pytest.fixture(scope="session")
def con(medium: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for table in TABLES:
        path = (medium / f"{table.name}.parquet").as_posix()
        con.execute(f"create view {table.name} as select * from read_parquet('{path}')")
    return con


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: object = None):
    return con.execute(sql, params).fetchone()[0]


def buyer_rate(raw: Path) -> float:
    sql = f"""
        select avg((o.customer_id is not null)::int)
        from read_parquet('{(raw / "customers.parquet").as_posix()}') c
        left join (
            select distinct customer_id
            from read_parquet('{(raw / "orders.parquet").as_posix()}')
            where ordered_at >= $cutoff
        ) o using (customer_id)
        where c.signed_up_at < $cutoff
    """
    return duckdb.execute(sql, {"cutoff": CUTOFF}).fetchone()[0]


# --- determinism --------------------------------------------------------------


def test_same_seed_gives_identical_data(small_runs: dict[str, Path]) -> None:
    for table in TABLES:
        name = f"{table.name}.parquet"
        a = pq.read_table(small_runs["a"] / name)
        b = pq.read_table(small_runs["b"] / name)
        # an optional table the simulation does not produce is written empty
        assert a.num_rows > 0 or not table.required, table.name
        assert a.equals(b), table.name
        assert (small_runs["a"] / name).read_bytes() == (small_runs["b"] / name).read_bytes()


def test_other_seed_gives_other_data(small_runs: dict[str, Path]) -> None:
    for name in ("customers", "orders", "sessions"):
        a = pq.read_table(small_runs["a"] / f"{name}.parquet")
        c = pq.read_table(small_runs["other_seed"] / f"{name}.parquet")
        assert not a.equals(c), name


# --- contract -----------------------------------------------------------------


def test_tables_match_contract(small_runs: dict[str, Path]) -> None:
    files = sorted(p.name for p in small_runs["a"].iterdir())
    assert files == sorted(f"{t.name}.parquet" for t in TABLES)
    for table in TABLES:
        schema = pq.read_schema(small_runs["a"] / f"{table.name}.parquet")
        assert schema.names == table.column_names, table.name
        for column in table.columns:
            typ = schema.field(column.name).type
            if column.name.endswith("_id"):
                assert typ in ID_TYPES, (table.name, column.name, typ)
            else:
                assert typ in ACCEPTED_TYPES[column.type], (table.name, column.name, typ)
            if not column.nullable:
                col = pq.read_table(small_runs["a"] / f"{table.name}.parquet").column(column.name)
                assert col.null_count == 0, (table.name, column.name)


def test_no_label_or_hidden_trait_columns(small_runs: dict[str, Path]) -> None:
    for table in TABLES:
        names = set(pq.read_schema(small_runs["a"] / f"{table.name}.parquet").names)
        assert names <= set(TABLES_BY_NAME[table.name].column_names)
        assert not names & HIDDEN, table.name


def test_categorical_values(con: duckdb.DuckDBPyConnection) -> None:
    expected = {
        ("order_lines", "product_category"): set(gc.PRODUCT_CATEGORIES),
        ("sessions", "channel"): {"app", "web"},
        ("marketing_messages", "channel"): {"email", "push"},
        ("loyalty_tier_changes", "loyalty_tier"): {"bronze", "silver", "gold", "platinum"},
        ("customers", "age_band"): {"18-24", "25-34", "35-44", "45-54", "55-64", "65+"},
        ("customers", "region"): set(gc.REGIONS),
        ("customers", "acquisition_channel"): {
            "organic",
            "paid_search",
            "social",
            "referral",
            "affiliate",
            "email",
        },
        ("customers", "device_type"): {"mobile", "desktop", "tablet"},
        ("support_tickets", "reason"): set(gc.TICKET_REASONS),
        ("returns", "reason"): set(gc.RETURN_REASONS),
    }
    for (table, column), values in expected.items():
        got = {r[0] for r in con.execute(f"select distinct {column} from {table}").fetchall()}
        assert got - {None} == values, (table, column, got)


# --- rates --------------------------------------------------------------------


def test_missing_demographics_rate(con: duckdb.DuckDBPyConnection) -> None:
    any_missing, all_missing = con.execute(
        """
        select
            avg((age_band is null or region is null or acquisition_channel is null
                 or device_type is null)::int),
            avg((age_band is null and region is null and acquisition_channel is null
                 and device_type is null)::int)
        from customers
        """
    ).fetchone()
    assert 0.045 <= any_missing <= 0.075
    assert 0.035 <= all_missing < any_missing  # mostly together, some individually


def test_unsubscribed_at_end_rate(con: duckdb.DuckDBPyConnection) -> None:
    unsubscribed = _scalar(
        con,
        """
        select count(*) from (
            select customer_id, arg_max(is_subscribed, changed_at) as subscribed
            from email_subscription_changes group by 1
        ) where not subscribed
        """,
    )
    assert 0.10 <= unsubscribed / MEDIUM <= 0.14
    resubscribed = _scalar(
        con, "select count(*) from email_subscription_changes where is_subscribed"
    )
    assert resubscribed > 0


def test_no_email_after_unsubscribe(con: duckdb.DuckDBPyConnection) -> None:
    bad = _scalar(
        con,
        """
        select count(*) from marketing_messages m
        join email_subscription_changes s
          on s.customer_id = m.customer_id and not s.is_subscribed and s.changed_at <= m.sent_at
        where m.channel = 'email'
          and not exists (
              select 1 from email_subscription_changes r
              where r.customer_id = m.customer_id and r.is_subscribed
                and r.changed_at > s.changed_at and r.changed_at <= m.sent_at)
        """,
    )
    assert bad == 0


def test_default_buyer_rate(medium: Path) -> None:
    assert buyer_rate(medium) == pytest.approx(0.28, abs=0.03)


def test_buyer_rate_parameter_moves_the_rate(tmp_path: Path) -> None:
    generate(MEDIUM, tmp_path, buyer_rate=0.18)
    assert buyer_rate(tmp_path) == pytest.approx(0.18, abs=0.03)


# --- integrity ----------------------------------------------------------------


def test_primary_keys_unique(con: duckdb.DuckDBPyConnection) -> None:
    for table in TABLES:
        key = ", ".join(table.primary_key)
        dupes = _scalar(
            con,
            f"select count(*) from (select {key} from {table.name} "
            "group by all having count(*) > 1)",
        )
        assert dupes == 0, table.name


def test_foreign_keys(con: duckdb.DuckDBPyConnection) -> None:
    for table in TABLES:
        if table.name != "customers" and "customer_id" in table.column_names:
            orphans = _scalar(
                con,
                f"select count(*) from {table.name} where customer_id not in "
                "(select customer_id from customers)",
            )
            assert orphans == 0, table.name
    for table in ("order_lines", "returns"):
        orphans = _scalar(
            con, f"select count(*) from {table} where order_id not in (select order_id from orders)"
        )
        assert orphans == 0, table
    mismatched = _scalar(
        con,
        "select count(*) from returns r join orders o using (order_id) "
        "where r.customer_id <> o.customer_id",
    )
    assert mismatched == 0


def test_amounts(con: duckdb.DuckDBPyConnection) -> None:
    assert _scalar(con, "select min(order_total) from orders") > 0
    assert _scalar(con, "select min(discount_amount) from orders") >= 0
    assert _scalar(con, "select min(line_total) from order_lines") >= 0
    assert _scalar(con, "select min(quantity) from order_lines") > 0
    assert _scalar(con, "select min(refund_amount) from returns") >= 0
    refund_over_total = _scalar(
        con,
        "select count(*) from returns r join orders o using (order_id) "
        "where r.refund_amount > o.order_total + 1e-9",
    )
    assert refund_over_total == 0
    lines_off = _scalar(
        con,
        """
        select count(*) from orders o
        join (select order_id, sum(line_total) as s from order_lines group by 1) l using (order_id)
        where abs(o.order_total - l.s) > 0.005
        """,
    )
    assert lines_off == 0
    share = _scalar(con, "select avg((discount_amount > 0)::int) from orders")
    assert 0.05 < share < 0.6
    assert _scalar(con, "select min(pages_viewed) from sessions") >= 0
    assert _scalar(con, "select count(*) from sessions where product_views > pages_viewed") == 0
    assert _scalar(con, "select min(duration_seconds) from sessions") >= 0
    csat = con.execute("select min(csat_score), max(csat_score) from support_tickets").fetchone()
    assert csat == (1, 5)


EVENT_TIMES = {
    "orders": "ordered_at",
    "returns": "returned_at",
    "sessions": "started_at",
    "marketing_messages": "sent_at",
    "support_tickets": "opened_at",
}


def test_events_inside_window_and_after_signup(con: duckdb.DuckDBPyConnection) -> None:
    for table, column in EVENT_TIMES.items():
        lo, hi = con.execute(f"select min({column}), max({column}) from {table}").fetchone()
        assert lo >= WINDOW_START, table
        assert hi < WINDOW_END, table
        early = _scalar(
            con,
            f"select count(*) from {table} t join customers c using (customer_id) "
            f"where t.{column} <= c.signed_up_at",
        )
        assert early == 0, table
    for table in ("loyalty_tier_changes", "email_subscription_changes"):
        early = _scalar(
            con,
            f"select count(*) from {table} t join customers c using (customer_id) "
            "where t.changed_at < c.signed_up_at or t.changed_at >= $end",
            {"end": WINDOW_END},
        )
        assert early == 0, table
    assert _scalar(con, "select max(signed_up_at) from customers") < WINDOW_END
    # Customers sign up over ~3 years, some before the activity window.
    assert _scalar(con, "select min(signed_up_at) from customers") < WINDOW_START
    # Returns after their order, nothing dated after the data ends.
    late = _scalar(
        con,
        "select count(*) from returns r join orders o using (order_id) "
        "where r.returned_at <= o.ordered_at",
    )
    assert late == 0
    for column in ("opened_at", "clicked_at"):
        assert _scalar(con, f"select max({column}) from marketing_messages") < WINDOW_END
    assert _scalar(con, "select max(resolved_at) from support_tickets") < WINDOW_END


def test_event_order(con: duckdb.DuckDBPyConnection) -> None:
    assert _scalar(con, "select count(*) from support_tickets where resolved_at <= opened_at") == 0
    assert _scalar(con, "select count(*) from marketing_messages where opened_at <= sent_at") == 0
    assert _scalar(con, "select count(*) from marketing_messages where clicked_at < opened_at") == 0
    assert (
        _scalar(
            con,
            "select count(*) from marketing_messages where clicked_at is not null "
            "and opened_at is null",
        )
        == 0
    )


def test_loyalty_tiers_follow_rolling_spend(con: duckdb.DuckDBPyConnection) -> None:
    # Everyone starts bronze at sign-up; later rows are real changes.
    first = con.execute(
        "select count(*), count(*) filter (where loyalty_tier = 'bronze') from ("
        "select customer_id, arg_min(loyalty_tier, changed_at) as loyalty_tier "
        "from loyalty_tier_changes group by 1)"
    ).fetchone()
    assert first[0] == MEDIUM and first[1] == MEDIUM
    repeats = _scalar(
        con,
        """
        select count(*) from (
            select loyalty_tier,
                   lag(loyalty_tier) over (partition by customer_id order by changed_at) as prev
            from loyalty_tier_changes
        ) where loyalty_tier = prev
        """,
    )
    assert repeats == 0
    tiers = dict(
        con.execute(
            "select loyalty_tier, count(*) from (select customer_id, "
            "arg_max(loyalty_tier, changed_at) as loyalty_tier from loyalty_tier_changes "
            "group by 1) group by 1"
        ).fetchall()
    )
    assert tiers["bronze"] > tiers["silver"] > tiers["gold"] > tiers["platinum"] > 0


def test_behaviour_is_plausible(con: duckdb.DuckDBPyConnection) -> None:
    # Fashion is returned more often than other categories.
    fashion, other = con.execute(
        """
        select
            avg((r.order_id is not null)::int) filter (where l.product_category = 'fashion'),
            avg((r.order_id is not null)::int) filter (where l.product_category <> 'fashion')
        from order_lines l left join returns r using (order_id)
        """
    ).fetchone()
    assert fashion > 1.5 * other
    # Orders peak in November-December.
    nov, sep = con.execute(
        "select count(*) filter (where date_trunc('month', ordered_at) = date '2025-11-01'), "
        "count(*) filter (where date_trunc('month', ordered_at) = date '2025-09-01') from orders"
    ).fetchone()
    assert nov > 1.2 * sep
    # Browsing rises in the days before an order.
    before, baseline = con.execute(
        """
        with o as (select customer_id, ordered_at from orders
                   where ordered_at >= timestamp '2026-01-01')
        select
            (select count(*) from sessions s join o using (customer_id)
             where s.started_at >= o.ordered_at - interval 3 day
               and s.started_at < o.ordered_at - interval 1 hour),
            (select count(*) from sessions s join o using (customer_id)
             where s.started_at >= o.ordered_at - interval 33 day
               and s.started_at < o.ordered_at - interval 30 day)
        """
    ).fetchone()
    assert before > 1.5 * baseline


def test_cli_generate(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    code = main(
        ["generate", "--customers", "300", "--out", str(out), "--seed", "7", "--quiet"]
        + ["--end-date", END_DATE.isoformat(), "--months", "18"]
    )
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t.name}.parquet" for t in TABLES)
    assert pq.read_table(out / "customers.parquet").num_rows == 300


def test_cli_rejects_short_window(tmp_path: Path) -> None:
    assert main(["generate", "--months", "6", "--out", str(tmp_path), "--quiet"]) == 2


def test_a_required_table_the_simulation_lacks_is_an_error(tmp_path: Path) -> None:
    """The writer writes every contract table: an optional one the simulation does not
    produce stays empty (test_tables_match_contract checks its columns), a required one
    cannot be left out."""
    with RawWriter(tmp_path) as writer, pytest.raises(ValueError, match=REQUIRED_TABLES[0]):
        writer.write({})
