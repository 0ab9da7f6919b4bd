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

checks as (
    select
        'propensity' as model_kind,
        1 as check_order,
        model_id,
        'ROC-AUC' as metric,
        roc_auc as metric_value,
        '>=' as comparison,
        cast(gate_json ->> 'roc_auc' as double) as threshold,
        'propensity_gate_min_roc_auc' as var_name
    from newest_propensity
    union all
    select
        'propensity',
        2,
        model_id,
        'PR-AUC',
        pr_auc,
        '>=',
        cast(gate_json ->> 'pr_auc' as double),
        'propensity_gate_min_pr_auc'
    from newest_propensity
    union all
    select
        'propensity',
        3,
        model_id,
        'F1',
        f1,
        '>=',
        cast(gate_json ->> 'f1' as double),
        'propensity_gate_min_f1'
    from newest_propensity
    union all
    -- 1 when the model beats both baselines on test ROC-AUC and PR-AUC; the
    -- check applies only while the gate requires it
    select
        'propensity',
        4,
        model_id,
        'beats both baselines (1 = yes)',
        cast(beats_baselines as double),
        '>=',
        case when cast(gate_json ->> 'must_beat_baselines' as boolean) then 1.0 else 0.0 end,
        'propensity_gate_must_beat_baselines'
    from newest_propensity
    union all
    select
        'segment',
        1,
        segment_model_id,
        'k (number of segments)',
        k,
        '>=',
        cast(gate_json ->> 'min_k' as double),
        'segment_gate_min_k'
    from newest_segment
    union all
    select
        'segment',
        2,
        segment_model_id,
        'k (number of segments)',
        k,
        '<=',
        cast(gate_json ->> 'max_k' as double),
        'segment_gate_max_k'
    from newest_segment
    union all
    select
        'segment',
        3,
        segment_model_id,
        'silhouette',
        silhouette,
        '>=',
        cast(gate_json ->> 'min_silhouette' as double),
        'segment_gate_min_silhouette'
    from newest_segment
    union all
    select
        'segment',
        4,
        segment_model_id,
        'stability (ARI)',
        stability_ari,
        '>=',
        cast(gate_json ->> 'min_stability' as double),
        'segment_gate_min_stability'
    from newest_segment
    union all
    select
        'segment',
        5,
        segment_model_id,
        'smallest segment share',
        smallest_segment_share,
        '>=',
        cast(gate_json ->> 'min_segment_share' as double),
        'segment_gate_min_segment_share'
    from newest_segment
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
