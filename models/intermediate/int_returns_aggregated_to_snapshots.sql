-- Returns and refunds per customer and as_of date, from returns recorded
-- strictly before the date within the look-back.
{%- set lookback_days = positive_int_var('feature_lookback_days', 3660) %}

with

returns as (
    select * from {{ ref('stg_returns') }}
),

snapshot_dates as (
    select as_of_date from {{ ref('int_snapshot_dates') }}
),

returns_before_snapshot as (
    select
        returns.customer_id,
        snapshot_dates.as_of_date,
        {{ exact_decimal('returns.refund_amount') }} as refund_amount,
        returns.returned_at,
        snapshot_dates.as_of_date - cast(returns.returned_at as date) as days_before_snapshot
    from returns
    inner join snapshot_dates
        on
            returns.returned_at < snapshot_dates.as_of_date
            and returns.returned_at >= snapshot_dates.as_of_date - {{ lookback_days }}
),

final as (
    select
        customer_id,
        as_of_date,
        count(*) filter (where days_before_snapshot <= 90) as returns_90d,
        cast(sum(refund_amount) as double) as refunded_amount_365d,
        max(returned_at) as latest_event_at
    from returns_before_snapshot
    group by customer_id, as_of_date
)

select * from final
