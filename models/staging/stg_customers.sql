with

source as (
    -- the rows no data-quality rule quarantined (raw_quarantined_rows, data_quality_issues)
    select * from {{ staged_raw_source('customers') }}
),

renamed as (
    select
        -- ids
        cast(customer_id as varchar) as customer_id,

        -- strings: blank means unknown
        nullif(lower(trim(cast(age_band as varchar))), '') as age_band,
        nullif(lower(trim(cast(region as varchar))), '') as region,
        nullif(lower(trim(cast(acquisition_channel as varchar))), '') as acquisition_channel,
        nullif(lower(trim(cast(device_type as varchar))), '') as device_type,

        -- timestamps
        cast(signed_up_at as timestamp) as signed_up_at

    from source
)

select * from renamed
