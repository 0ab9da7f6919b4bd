-- Every quality-gate check of the newest row of each registry, with the
-- thresholds the training applied (gate_json), the var that sets each one, and
-- a plain sentence for a failed check naming the model that keeps serving.
-- The gate tests run on this leaf view, so a failed gate fails the build
-- without skipping anything: consumers read serving_models, never a gate.
{{ config(materialized='view', tags=['training']) }}

with

propensity_models as (
    select * from {{ ref('propensity_models') }}
),

segment_models as (
    select * from {{ ref('segment_models') }}
),

serving_models as (
    select * from {{ ref('serving_models') }}
),

newest_propensity as (
    select *
    from propensity_models
    order by trained_at desc, model_id desc
    limit 1
),

newest_segment as (
    select *
    from segment_models
    order by trained_at desc, segment_model_id desc
    limit 1
),

propensity_checks as (
    select
        'propensity' as model_kind,
        definitions.check_order,
        newest_propensity.model_id,
        definitions.metric,
        case definitions.check_order
            when 1 then newest_propensity.roc_auc
            when 2 then newest_propensity.pr_auc
            when 3 then newest_propensity.f1
            -- 1 unless a baseline is better beyond the noise of the test rows (paired
            -- bootstrap, docs/model_comparison.md); rows trained before the
            -- interval was recorded fall back to the point comparison
            else coalesce(
                1.0 - cast(newest_propensity.is_worse_than_a_baseline as double),
                cast(newest_propensity.beats_baselines as double)
            )
        end as metric_value,
        '>=' as comparison,
        case definitions.check_order
            when 1 then cast(newest_propensity.gate_json ->> 'roc_auc' as double)
            when 2 then cast(newest_propensity.gate_json ->> 'pr_auc' as double)
            when 3 then cast(newest_propensity.gate_json ->> 'f1' as double)
            -- the baselines count only while the gate requires it
            else
                case
                    when cast(newest_propensity.gate_json ->> 'must_beat_baselines' as boolean)
                        then 1.0
                    else 0.0
                end
        end as threshold,
        definitions.var_name
    from newest_propensity
    cross join (
        values
        (1, 'ROC-AUC', 'propensity_gate_min_roc_auc'),
        (2, 'PR-AUC', 'propensity_gate_min_pr_auc'),
        (3, 'F1', 'propensity_gate_min_f1'),
        (
            4,
            'no baseline better beyond noise (1 = yes)',
            'propensity_gate_must_beat_baselines'
        )
    ) as definitions (check_order, metric, var_name)
),

segment_checks as (
    select
        'segment' as model_kind,
        definitions.check_order,
        newest_segment.segment_model_id as model_id,
        definitions.metric,
        case definitions.check_order
            when 1 then newest_segment.k
            when 2 then newest_segment.k
            when 3 then newest_segment.silhouette
            when 4 then newest_segment.stability_ari
            else newest_segment.smallest_segment_share
        end as metric_value,
        case when definitions.check_order = 2 then '<=' else '>=' end as comparison,
        cast(newest_segment.gate_json ->> definitions.gate_key as double) as threshold,
        definitions.var_name
    from newest_segment
    cross join (
        values
        (1, 'k (number of segments)', 'min_k', 'segment_gate_min_k'),
        (2, 'k (number of segments)', 'max_k', 'segment_gate_max_k'),
        (3, 'silhouette', 'min_silhouette', 'segment_gate_min_silhouette'),
        (4, 'stability (ARI)', 'min_stability', 'segment_gate_min_stability'),
        (5, 'smallest segment share', 'min_segment_share', 'segment_gate_min_segment_share')
    ) as definitions (check_order, metric, gate_key, var_name)
),

checks as (
    select * from propensity_checks
    union all
    select * from segment_checks
),

judged as (
    select
        checks.*,
        serving_models.serving_model_id,
        coalesce(
            case
                when checks.comparison = '>=' then checks.metric_value >= checks.threshold
                else checks.metric_value <= checks.threshold
            end,
            false
        ) as passed
    from checks
    left join serving_models
        on checks.model_kind = serving_models.model_kind
),

final as (
    select
        model_kind,
        check_order,
        model_id,
        metric,
        metric_value,
        comparison,
        threshold,
        var_name,
        passed,
        serving_model_id,
        case
            when not passed
                then
                    'Quality gate failed: ' || model_kind || ' model ' || model_id || ', '
                    || metric || ' = ' || coalesce(cast(round(metric_value, 4) as varchar), 'missing')
                    || ', required ' || comparison || ' ' || cast(round(threshold, 4) as varchar)
                    || ' (var ' || var_name || '). '
                    || case
                        when serving_model_id is null
                            then
                                'No ' || model_kind || ' model serves yet, so no '
                                || case
                                    when model_kind = 'propensity' then 'propensity scores'
                                    else 'segments'
                                end
                                || ' are published until a retrain passes the gate.'
                        else 'The ' || model_kind || ' model ' || serving_model_id || ' keeps serving.'
                    end
        end as message
    from judged
)

select * from final
