-- Order activity per customer and as_of date, from orders strictly before the
-- date and within the feature look-back.
{%- set lookback_days = positive_int_var('feature_lookback_days', 3660) %}

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
        {{ exact_decimal('orders.order_total') }} as order_total,
        orders.discount_amount,
        orders.ordered_at,
        snapshot_dates.as_of_date - cast(orders.ordered_at as date) as days_before_snapshot
    from orders
    inner join snapshot_dates
        on
            orders.ordered_at < snapshot_dates.as_of_date
            and orders.ordered_at >= snapshot_dates.as_of_date - {{ lookback_days }}
),

final as (
    select
        customer_id,
        as_of_date,
        count(*) filter (where days_before_snapshot <= 30) as orders_30d,
        count(*) filter (where days_before_snapshot <= 90) as orders_90d,
        count(*) as orders_365d,
        min(days_before_snapshot) as days_since_last_order,
        cast(avg(order_total) as double) as avg_order_value_365d,
        cast(sum(order_total) as double) as total_spend_365d,
        avg(case when discount_amount > 0 then 1.0 else 0.0 end) as discount_usage_rate_365d,
        case
            when count(*) >= 2
                then
                    date_diff('second', min(ordered_at), max(ordered_at))
                    / 86400.0 / (count(*) - 1)
        end as avg_days_between_orders_365d,
        cast(
            coalesce(sum(order_total) filter (where days_before_snapshot <= 30), 0) as double
        ) as spend_30d,
        cast(
            coalesce(
                sum(order_total) filter (
                    where days_before_snapshot > 30 and days_before_snapshot <= 60
                ),
                0
            ) as double
        ) as spend_prior_30d,
        max(ordered_at) as latest_event_at
    from orders_before_snapshot
    group by customer_id, as_of_date
)

select * from final
