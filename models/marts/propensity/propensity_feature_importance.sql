-- What drives each propensity model: mean absolute SHAP contribution (log-odds)
-- per feature, its direction, and total split gain; ranked by mean |SHAP|, as
-- the report and the customers' top reasons are.
with

propensity_models as (
    select * from {{ ref('propensity_models') }}
),

items as (
    {{ unnest_json_rows('propensity_models', 'feature_importance_json', ['model_id']) }}
),

final as (
    select
        model_id,
        item ->> 'feature' as feature_name,
        cast(item ->> 'rank' as integer) as importance_rank,
        cast(item ->> 'gain' as double) as total_gain,
        cast(item ->> 'gain_share' as double) as gain_share,
        cast(item ->> 'splits' as bigint) as splits,
        cast(item ->> 'mean_abs_shap' as double) as mean_abs_shap,
        cast(item ->> 'value_shap_correlation' as double) as value_shap_correlation
    from items
)

select * from final
