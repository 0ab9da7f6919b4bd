with

source as (
    -- the rows no data-quality rule quarantined (raw_quarantined_rows, data_quality_issues)
    select * from {{ staged_raw_source('marketing_messages') }}
),

renamed as (
    select
        -- ids
        cast(message_id as varchar) as message_id,
        cast(customer_id as varchar) as customer_id,

        -- strings
        lower(trim(cast(channel as varchar))) as message_channel,

        -- timestamps
        cast(sent_at as timestamp) as sent_at,
        cast(opened_at as timestamp) as opened_at,
        cast(clicked_at as timestamp) as clicked_at

    from source
)

select * from renamed
