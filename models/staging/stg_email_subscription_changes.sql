with

source as (
    select * from {{ raw_source('email_subscription_changes') }}
),

renamed as (
    select
        -- ids
        cast(customer_id as varchar) as customer_id,

        -- booleans
        cast(is_subscribed as boolean) as is_subscribed,

        -- timestamps
        cast(changed_at as timestamp) as changed_at

    from source
)

select * from renamed
