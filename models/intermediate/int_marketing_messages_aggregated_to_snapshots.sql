-- Email and push engagement per customer and as_of date over the 90 days
-- before it. An open or click counts only if it happened strictly before the
-- date, even when the message was sent earlier.
with

marketing_messages as (
    select * from {{ ref('stg_marketing_messages') }}
),

snapshot_dates as (
    select as_of_date from {{ ref('int_snapshot_dates') }}
),

messages_before_snapshot as (
    select
        marketing_messages.customer_id,
        snapshot_dates.as_of_date,
        marketing_messages.message_channel,
        marketing_messages.sent_at,
        coalesce(marketing_messages.opened_at < snapshot_dates.as_of_date, false) as is_opened,
        coalesce(marketing_messages.clicked_at < snapshot_dates.as_of_date, false) as is_clicked,
        greatest(
            marketing_messages.sent_at,
            case
                when
                    marketing_messages.opened_at < snapshot_dates.as_of_date
                    then marketing_messages.opened_at
            end,
            case
                when
                    marketing_messages.clicked_at < snapshot_dates.as_of_date
                    then marketing_messages.clicked_at
            end
        ) as latest_known_at
    from marketing_messages
    inner join snapshot_dates
        on
            marketing_messages.sent_at < snapshot_dates.as_of_date
            and marketing_messages.sent_at >= snapshot_dates.as_of_date - 90
),

final as (
    select
        customer_id,
        as_of_date,
        count(*) filter (where message_channel = 'email') as emails_sent_90d,
        avg(case when is_opened then 1.0 else 0.0 end) filter (
            where message_channel = 'email'
        ) as email_open_rate_90d,
        avg(case when is_clicked then 1.0 else 0.0 end) filter (
            where message_channel = 'email'
        ) as email_click_rate_90d,
        count(*) filter (where message_channel = 'push') as pushes_sent_90d,
        avg(case when is_clicked then 1.0 else 0.0 end) filter (
            where message_channel = 'push'
        ) as push_click_rate_90d,
        max(latest_known_at) as latest_event_at
    from messages_before_snapshot
    group by customer_id, as_of_date
)

select * from final
