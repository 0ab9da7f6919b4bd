-- Web and app engagement per customer and as_of date, from sessions started
-- strictly before the date (the longest window used is 90 days).
with

sessions as (
    select * from {{ ref('stg_sessions') }}
),

snapshot_dates as (
    select as_of_date from {{ ref('int_snapshot_dates') }}
),

sessions_before_snapshot as (
    select
        sessions.customer_id,
        snapshot_dates.as_of_date,
        sessions.session_channel,
        {{ exact_decimal('sessions.duration_seconds') }} as duration_seconds,
        sessions.pages_viewed,
        sessions.product_views,
        sessions.cart_adds,
        sessions.started_at,
        snapshot_dates.as_of_date - cast(sessions.started_at as date) as days_before_snapshot,
        dayofweek(sessions.started_at) in (0, 6) as is_weekend,
        hour(sessions.started_at) >= 18 as is_evening
    from sessions
    inner join snapshot_dates
        on
            sessions.started_at < snapshot_dates.as_of_date
            and sessions.started_at >= snapshot_dates.as_of_date - 90
),

final as (
    select
        customer_id,
        as_of_date,
        count(*) filter (where days_before_snapshot <= 7) as sessions_7d,
        count(*) filter (where days_before_snapshot <= 30) as sessions_30d,
        count(*) filter (
            where days_before_snapshot <= 30 and session_channel = 'app'
        ) as app_sessions_30d,
        count(*) filter (
            where days_before_snapshot <= 30 and session_channel = 'web'
        ) as web_sessions_30d,
        cast(
            avg(duration_seconds) filter (where days_before_snapshot <= 30) as double
        ) as avg_session_duration_seconds_30d,
        avg(pages_viewed) filter (where days_before_snapshot <= 30) as pages_per_session_30d,
        cast(coalesce(sum(product_views) filter (where days_before_snapshot <= 30), 0) as bigint)
            as product_views_30d,
        cast(coalesce(sum(cart_adds) filter (where days_before_snapshot <= 30), 0) as bigint)
            as cart_adds_30d,
        avg(case when is_weekend then 1.0 else 0.0 end) as weekend_session_share_90d,
        avg(case when is_evening then 1.0 else 0.0 end) as evening_session_share_90d,
        max(started_at) as latest_event_at
    from sessions_before_snapshot
    group by customer_id, as_of_date
)

select * from final
