with

source as (
    -- the rows no data-quality rule quarantined (raw_quarantined_rows, data_quality_issues)
    select * from {{ staged_raw_source('loyalty_tier_changes') }}
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
