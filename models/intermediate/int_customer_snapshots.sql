-- The population at each as_of date: every customer who signed up before it.
with

customers as (
    select * from {{ ref('stg_customers') }}
),

snapshot_dates as (
    select * from {{ ref('int_snapshot_dates') }}
),

final as (
    select
        customers.customer_id,
        snapshot_dates.as_of_date,
        customers.age_band,
        customers.region,
        customers.acquisition_channel,
        customers.device_type,
        snapshot_dates.as_of_date - cast(customers.signed_up_at as date) as tenure_days,
        customers.signed_up_at
    from customers
    inner join snapshot_dates
        on customers.signed_up_at < snapshot_dates.as_of_date
)

select * from final
