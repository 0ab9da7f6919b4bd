-- The segment x propensity-band matrix of the latest date: how many
-- customers, how many buyers to expect from the scores, the observed purchase
-- rate where the labels (label_window_days) already exist, and the playbook's action.
with

campaign_target_customers as (
    select * from {{ ref('campaign_target_customers') }}
),

customer_labels as (
    select * from {{ ref('customer_labels') }}
),

with_labels as (
    select
        campaign_target_customers.*,
        customer_labels.{{ label_column() }} as is_buyer
    from campaign_target_customers
    left join customer_labels
        on
            campaign_target_customers.customer_id = customer_labels.customer_id
            and campaign_target_customers.as_of_date = customer_labels.as_of_date
),

final as (
    select
        segment_id,
        segment_name,
        propensity_band,
        any_value(recommended_action) as recommended_action,
        any_value(offer) as offer,
        count(*) as customers,
        sum(propensity) as expected_buyers,
        avg(propensity) as mean_propensity,
        -- null until the label window after as_of_date is in the data
        avg(cast(is_buyer as integer)) as observed_purchase_rate,
        any_value(as_of_date) as as_of_date
    from with_labels
    group by segment_id, segment_name, propensity_band
)

select * from final
