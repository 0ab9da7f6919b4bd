-- Gains and lift by score decile on each model's held-out test snapshot.
with

propensity_models as (
    select * from {{ ref('propensity_models') }}
),

items as (
    {{ unnest_json_rows('propensity_models', 'gains_json', ['model_id', 'test_as_of_date']) }}
),

final as (
    select
        model_id,
        cast(item ->> 'decile' as integer) as score_decile,
        cast(item ->> 'customers' as bigint) as customers,
        cast(item ->> 'buyers' as bigint) as buyers,
        cast(item ->> 'positive_rate' as double) as purchase_rate,
        cast(item ->> 'cumulative_share_of_buyers' as double) as cumulative_share_of_buyers,
        cast(item ->> 'lift' as double) as lift,
        cast(item ->> 'cumulative_lift' as double) as cumulative_lift,
        cast(item ->> 'min_score' as double) as min_propensity,
        cast(item ->> 'max_score' as double) as max_propensity,
        cast(test_as_of_date as date) as test_as_of_date
    from items
)

select * from final
