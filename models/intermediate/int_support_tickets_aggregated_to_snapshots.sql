-- Support contacts per customer and as_of date. A ticket counts from when it
-- was opened; its resolution time and CSAT only once it was resolved, and
-- both must happen strictly before the date.
{%- set lookback_days = positive_int_var('feature_lookback_days', 3660) %}

with

support_tickets as (
    select * from {{ ref('stg_support_tickets') }}
),

snapshot_dates as (
    select as_of_date from {{ ref('int_snapshot_dates') }}
),

tickets_before_snapshot as (
    select
        support_tickets.customer_id,
        snapshot_dates.as_of_date,
        support_tickets.opened_at,
        snapshot_dates.as_of_date - cast(support_tickets.opened_at as date) as days_before_snapshot,
        support_tickets.resolved_at < snapshot_dates.as_of_date as is_resolved_before_snapshot,
        date_diff('second', support_tickets.opened_at, support_tickets.resolved_at)
            as resolution_seconds,
        support_tickets.resolved_at,
        support_tickets.csat_score
    from support_tickets
    inner join snapshot_dates
        on
            support_tickets.opened_at < snapshot_dates.as_of_date
            and support_tickets.opened_at >= snapshot_dates.as_of_date - {{ lookback_days }}
),

final as (
    select
        customer_id,
        as_of_date,
        count(*) filter (where days_before_snapshot <= 90) as tickets_90d,
        -- averaged in whole seconds (exact integer sums), then converted to hours
        avg(resolution_seconds) filter (where is_resolved_before_snapshot)
        / 3600.0 as avg_resolution_hours_365d,
        -- tickets resolved at the same instant: the score breaks the tie
        arg_max(csat_score, struct_pack(resolved_at := resolved_at, csat_score := csat_score)) filter (
            where is_resolved_before_snapshot and csat_score is not null
        ) as last_csat_score,
        greatest(
            max(opened_at),
            max(resolved_at) filter (where is_resolved_before_snapshot)
        ) as latest_event_at
    from tickets_before_snapshot
    group by customer_id, as_of_date
)

select * from final
