with

source as (
    -- the rows no data-quality rule quarantined (raw_quarantined_rows, data_quality_issues)
    select * from {{ staged_raw_source('support_tickets') }}
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
