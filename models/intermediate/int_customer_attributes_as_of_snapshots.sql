-- Attributes that change over time, taken as of each date from the last
-- change strictly before it. No row for a customer means no change yet.
with

loyalty_tier_changes as (
    select * from {{ ref('stg_loyalty_tier_changes') }}
),

email_subscription_changes as (
    select * from {{ ref('stg_email_subscription_changes') }}
),

snapshot_dates as (
    select as_of_date from {{ ref('int_snapshot_dates') }}
),

tier_as_of_snapshot as (
    select
        loyalty_tier_changes.customer_id,
        snapshot_dates.as_of_date,
        -- changes at the same instant: the value breaks the tie, so every
        -- build picks the same one (arg_max alone picks any)
        arg_max(
            loyalty_tier_changes.loyalty_tier,
            struct_pack(
                changed_at := loyalty_tier_changes.changed_at,
                loyalty_tier := loyalty_tier_changes.loyalty_tier
            )
        ) as loyalty_tier,
        max(loyalty_tier_changes.changed_at) as latest_event_at
    from loyalty_tier_changes
    inner join snapshot_dates
        on loyalty_tier_changes.changed_at < snapshot_dates.as_of_date
    group by loyalty_tier_changes.customer_id, snapshot_dates.as_of_date
),

subscription_as_of_snapshot as (
    select
        email_subscription_changes.customer_id,
        snapshot_dates.as_of_date,
        arg_max(
            email_subscription_changes.is_subscribed,
            struct_pack(
                changed_at := email_subscription_changes.changed_at,
                is_subscribed := email_subscription_changes.is_subscribed
            )
        ) as is_email_subscribed,
        max(email_subscription_changes.changed_at) as latest_event_at
    from email_subscription_changes
    inner join snapshot_dates
        on email_subscription_changes.changed_at < snapshot_dates.as_of_date
    group by email_subscription_changes.customer_id, snapshot_dates.as_of_date
),

final as (
    select
        coalesce(tier_as_of_snapshot.customer_id, subscription_as_of_snapshot.customer_id)
            as customer_id,
        coalesce(tier_as_of_snapshot.as_of_date, subscription_as_of_snapshot.as_of_date)
            as as_of_date,
        tier_as_of_snapshot.loyalty_tier,
        subscription_as_of_snapshot.is_email_subscribed,
        greatest(tier_as_of_snapshot.latest_event_at, subscription_as_of_snapshot.latest_event_at)
            as latest_event_at
    from tier_as_of_snapshot
    full outer join subscription_as_of_snapshot
        on
            tier_as_of_snapshot.customer_id = subscription_as_of_snapshot.customer_id
            and tier_as_of_snapshot.as_of_date = subscription_as_of_snapshot.as_of_date
)

select * from final
