-- depends_on: {{ ref('stg_customers') }} (quarantine: rows of unknown customers)
with

source as (
    -- rows breaking a data-quality rule are quarantined (counted in data_quality_issues)
    select * from {{ checked_raw_source('returns') }}
    where quarantine_rule is null
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
