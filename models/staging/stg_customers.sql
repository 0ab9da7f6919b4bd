with

source as (
    -- rows breaking a data-quality rule are quarantined (counted in data_quality_issues)
    select * from {{ checked_raw_source('customers') }}
    where quarantine_rule is null
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
