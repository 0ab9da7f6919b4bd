-- ROC and precision-recall curve points on the test snapshot for each model
-- and its two baselines (downsampled), for charts.
with

propensity_models as (
    select * from {{ ref('propensity_models') }}
),

items as (
    {{ unnest_json_rows('propensity_models', 'curves_json', ['model_id']) }}
),

final as (
    select
        model_id,
        item ->> 'model' as scorer,
        item ->> 'curve' as curve,
        cast(item ->> 'x' as double) as x,
        cast(item ->> 'y' as double) as y,
        cast(item ->> 'threshold' as double) as threshold
    from items
)

select * from final
