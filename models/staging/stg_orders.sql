-- depends_on: {{ ref('stg_customers') }} (quarantine: rows of unknown customers)
with

source as (
    -- rows breaking a data-quality rule are quarantined (counted in data_quality_issues)
    select * from {{ checked_raw_source('orders') }}
    where quarantine_rule is null
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
