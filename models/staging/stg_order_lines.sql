with

source as (
    -- the rows no data-quality rule quarantined (raw_quarantined_rows, data_quality_issues)
    select * from {{ staged_raw_source('order_lines') }}
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
