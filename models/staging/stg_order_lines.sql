-- depends_on: {{ ref('stg_orders') }} (quarantine: rows of unknown orders)
with

source as (
    -- rows breaking a data-quality rule are quarantined (counted in data_quality_issues)
    select * from {{ checked_raw_source('order_lines') }}
    where quarantine_rule is null
),

renamed as (
    select
        -- ids
        cast(order_id as varchar) as order_id,
        cast(line_number as integer) as line_number,

        -- strings
        lower(trim(cast(product_category as varchar))) as product_category,

        -- numerics
        cast(quantity as integer) as quantity,
        cast(line_total as double) as line_total

    from source
)

select * from renamed
