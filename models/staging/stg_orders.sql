with

source as (
    -- the rows no data-quality rule quarantined (raw_quarantined_rows, data_quality_issues)
    select * from {{ staged_raw_source('orders') }}
),

renamed as (
    select
        -- ids
        cast(order_id as varchar) as order_id,
        cast(customer_id as varchar) as customer_id,

        -- numerics
        cast(order_total as double) as order_total,
        coalesce(cast(discount_amount as double), 0) as discount_amount,

        -- timestamps
        cast(ordered_at as timestamp) as ordered_at

    from source
)

select * from renamed
