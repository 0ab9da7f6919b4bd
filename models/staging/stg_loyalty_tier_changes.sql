with

source as (
    select * from {{ raw_source('loyalty_tier_changes') }}
),

renamed as (
    select
        -- ids
        cast(customer_id as varchar) as customer_id,

        -- strings
        lower(trim(cast(loyalty_tier as varchar))) as loyalty_tier,

        -- timestamps
        cast(changed_at as timestamp) as changed_at

    from source
)

select * from renamed
