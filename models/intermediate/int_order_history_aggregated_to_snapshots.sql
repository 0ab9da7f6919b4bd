-- A customer's whole purchase history before each as_of date (no look-back
-- limit): how long they have bought, their own rhythm (gaps between purchase
-- days) and how overdue they are against it, the trend, and the inputs of the
-- BG/NBD model (int_bgnbd_predictions_to_snapshots). Only orders strictly before
-- as_of_date count. On CDNOW the whole history ranks customers better than the
-- 365-day look-back alone (docs/bring_your_own_data.md).
-- Not the label window a year earlier (seasonality): on the default data, whose
-- orders start 18 months before the end, it is 0 on every training date of a build
-- as of 2026-07-01 and not at scoring, so the drift gate failed (PSI 0.8).

with

orders as (
    select * from {{ ref('stg_orders') }}
),

snapshot_dates as (
    select as_of_date from {{ ref('int_snapshot_dates') }}
),

orders_before_snapshot as (
    select
        orders.customer_id,
        snapshot_dates.as_of_date,
        orders.ordered_at,
        cast(orders.ordered_at as date) as ordered_date,
        snapshot_dates.as_of_date - cast(orders.ordered_at as date) as days_before_snapshot
    from orders
    inner join snapshot_dates
        on orders.ordered_at < snapshot_dates.as_of_date
),

purchase_days as (
    -- BG/NBD and the rhythm count days with a purchase, not orders: one row per
    -- customer, date and purchase day, carrying what the orders of that day add up to
    -- (one aggregation of the orders; the per-customer figures below sum these rows)
    select
        customer_id,
        as_of_date,
        ordered_date,
        count(*) as orders,
        count(*) filter (
            where days_before_snapshot > 90 and days_before_snapshot <= 180
        ) as orders_91_180d,
        max(ordered_at) as latest_event_at
    from orders_before_snapshot
    group by customer_id, as_of_date, ordered_date
),

purchase_gaps as (
    select
        *,
        ordered_date
        - lag(ordered_date) over (
            partition by customer_id, as_of_date order by ordered_date
        ) as gap_days
    from purchase_days
),

per_customer as (
    select
        customer_id,
        as_of_date,
        cast(sum(orders) as bigint) as orders_lifetime,
        count(*) as purchase_days_lifetime,
        cast(sum(orders_91_180d) as bigint) as orders_91_180d,
        max(as_of_date - ordered_date) as days_since_first_order,
        min(as_of_date - ordered_date) as days_since_last_order_lifetime,
        max(ordered_date) - min(ordered_date) as days_first_to_last_purchase,
        -- the gaps: null on each customer's first purchase day, which avg and count skip
        cast(avg(gap_days) as double) as purchase_gap_mean_days,
        -- the sample standard deviation from exact integer sums: DuckDB's
        -- stddev_samp combines its threads' partial doubles in any order, so its
        -- last bits (and then the model) changed from one build to the next
        case
            when count(gap_days) >= 2
                then sqrt(
                    cast(
                        count(gap_days) * sum(cast(gap_days as hugeint) * gap_days)
                        - sum(cast(gap_days as hugeint)) * sum(cast(gap_days as hugeint))
                        as double
                    )
                    / (count(gap_days) * (count(gap_days) - 1))
                )
        end as purchase_gap_stddev_days,
        max(latest_event_at) as latest_event_at
    from purchase_gaps
    group by customer_id, as_of_date
),

final as (
    select
        customer_id,
        as_of_date,
        orders_lifetime,
        purchase_days_lifetime,
        orders_91_180d,
        days_since_first_order,
        days_since_last_order_lifetime,
        days_first_to_last_purchase,
        purchase_gap_mean_days,
        purchase_gap_stddev_days,
        days_since_last_order_lifetime / purchase_gap_mean_days as recency_to_purchase_gap_ratio,
        latest_event_at
    from per_customer
)

select * from final
