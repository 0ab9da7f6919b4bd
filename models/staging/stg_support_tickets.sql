-- depends_on: {{ ref('stg_customers') }} (quarantine: rows of unknown customers)
with

source as (
    -- rows breaking a data-quality rule are quarantined (counted in data_quality_issues)
    select * from {{ checked_raw_source('support_tickets') }}
    where quarantine_rule is null
),

renamed as (
    select
        -- ids
        cast(ticket_id as varchar) as ticket_id,
        cast(customer_id as varchar) as customer_id,

        -- strings
        nullif(lower(trim(cast(reason as varchar))), '') as ticket_reason,

        -- numerics
        cast(csat_score as integer) as csat_score,

        -- timestamps
        cast(opened_at as timestamp) as opened_at,
        cast(resolved_at as timestamp) as resolved_at

    from source
)

select * from renamed
