-- How each segmenter was chosen: KMeans at every k tried, and the other
-- algorithms at the chosen k, on the same preprocessed data.
with

segment_models as (
    select * from {{ ref('segment_models') }}
),

k_selection as (
    {{ unnest_json_rows('segment_models', 'k_selection_json', ['segment_model_id']) }}
),

algorithm_comparison as (
    {{ unnest_json_rows('segment_models', 'algorithm_comparison_json', ['segment_model_id']) }}
),

candidates as (
    select
        segment_model_id,
        'k_selection' as comparison,
        item
    from k_selection
    union all
    select
        segment_model_id,
        'algorithm_comparison' as comparison,
        item
    from algorithm_comparison
),

final as (
    select
        segment_model_id,
        comparison,
        item ->> 'algorithm' as algorithm,
        cast(item ->> 'k' as integer) as k,
        cast(item ->> 'silhouette' as double) as silhouette,
        cast(item ->> 'stability_ari' as double) as stability_ari,
        cast(item ->> 'davies_bouldin' as double) as davies_bouldin,
        cast(item ->> 'calinski_harabasz' as double) as calinski_harabasz,
        cast(item ->> 'smallest_segment_share' as double) as smallest_segment_share,
        cast(item ->> 'passed_gate' as boolean) as passes_gate
    from candidates
)

select * from final
