-- The one serving rule: for each model kind, the newest registry row that
-- passed its quality gate. Every consumer (propensity_scores,
-- customer_segments, unseen_category_values, segment_profiles, the campaign
-- tables) reads the model id from here, so all of them name the same models.
-- Tagged training: only a run that has finished both training steps rewrites
-- it, so a run that stops in training leaves the serving models as they were,
-- and the daily job reads the stored table (docs/operations.md).
{{ config(tags=['training']) }}

with

propensity_models as (
    select * from {{ ref('propensity_models') }}
),

segment_models as (
    select * from {{ ref('segment_models') }}
),

registry as (
    select
        'propensity' as model_kind,
        model_id,
        trained_at,
        passed_quality_gate
    from propensity_models
    union all
    select
        'segment' as model_kind,
        segment_model_id as model_id,
        trained_at,
        passed_quality_gate
    from segment_models
),

model_kinds as (
    select kinds.model_kind
    from (values ('propensity'), ('segment')) as kinds (model_kind)
),

newest as (
    select
        model_kind,
        arg_max(model_id, (trained_at, model_id)) as model_id,
        arg_max(passed_quality_gate, (trained_at, model_id)) as passed_quality_gate
    from registry
    group by model_kind
),

serving as (
    select
        model_kind,
        arg_max(model_id, (trained_at, model_id)) as model_id
    from registry
    where passed_quality_gate
    group by model_kind
),

final as (
    select
        model_kinds.model_kind,
        serving.model_id as serving_model_id,
        newest.model_id as newest_model_id,
        coalesce(newest.passed_quality_gate, false) as newest_passed_quality_gate
    from model_kinds
    left join serving
        on model_kinds.model_kind = serving.model_kind
    left join newest
        on model_kinds.model_kind = newest.model_kind
)

select * from final
