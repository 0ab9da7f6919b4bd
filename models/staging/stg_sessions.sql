with

source as (
    -- the rows no data-quality rule quarantined (raw_quarantined_rows, data_quality_issues)
    select * from {{ staged_raw_source('sessions') }}
),

renamed as (
    select
        -- ids
        cast(session_id as varchar) as session_id,
        cast(customer_id as varchar) as customer_id,

        -- strings
        lower(trim(cast(channel as varchar))) as session_channel,

        -- numerics
        cast(duration_seconds as double) as duration_seconds,
        cast(pages_viewed as integer) as pages_viewed,
        cast(product_views as integer) as product_views,
        cast(cart_adds as integer) as cart_adds,

        -- timestamps
        cast(started_at as timestamp) as started_at

    from source
)

select * from renamed
