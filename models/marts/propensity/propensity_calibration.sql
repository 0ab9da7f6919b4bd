-- Calibration by probability bin on each model's held-out test snapshot:
-- when the model says 30%, do about 30% buy?
with

propensity_models as (
    select * from {{ ref('propensity_models') }}
),

items as (
    {{ unnest_json_rows('propensity_models', 'calibration_json', ['model_id', 'test_as_of_date']) }}
),

final as (
    select
        model_id,
        cast(item ->> 'bin' as integer) as probability_bin,
        cast(item ->> 'bin_lower' as double) as bin_lower,
        cast(item ->> 'bin_upper' as double) as bin_upper,
        cast(item ->> 'mean_predicted' as double) as mean_predicted_probability,
        cast(item ->> 'observed_rate' as double) as observed_purchase_rate,
        cast(item ->> 'count' as bigint) as customers,
        cast(test_as_of_date as date) as test_as_of_date
    from items
)

select * from final
