with

source as (
    -- the rows no data-quality rule quarantined (raw_quarantined_rows, data_quality_issues)
    select * from {{ staged_raw_source('returns') }}
),

renamed as (
    select
        -- ids
        cast(return_id as varchar) as return_id,
        cast(order_id as varchar) as order_id,
        cast(customer_id as varchar) as customer_id,

        -- strings
        nullif(lower(trim(cast(reason as varchar))), '') as return_reason,

        -- numerics
        cast(refund_amount as double) as refund_amount,

        -- timestamps
        cast(returned_at as timestamp) as returned_at

    from source
)

select * from renamed
