-- depends_on: {{ ref('stg_customers') }} (quarantine: rows of unknown customers)
with

source as (
    -- rows breaking a data-quality rule are quarantined (counted in data_quality_issues)
    select * from {{ checked_raw_source('loyalty_tier_changes') }}
    where quarantine_rule is null
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
