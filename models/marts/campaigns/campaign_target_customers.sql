-- The activation list: every customer scored on the latest date, once, with
-- segment, score, propensity band and the playbook's recommended action.
-- Scores and segments are those of the serving models (serving_models) only.
-- Bands: high = score deciles 1-2, medium = 3-5, low = 6-10.
with

propensity_scores as (
    select * from {{ ref('propensity_scores') }}
),

customer_segments as (
    select * from {{ ref('customer_segments') }}
),

campaign_playbook as (
    select * from {{ ref('campaign_playbook') }}
),

serving_models as (
    select * from {{ ref('serving_models') }}
),

serving_propensity_model as (
    select serving_model_id as model_id
    from serving_models
    where model_kind = 'propensity'
),

-- segments of the serving segmenter only, so the list names one segmenter
serving_segments as (
    select customer_segments.*
    from customer_segments
    inner join serving_models
        on
            serving_models.model_kind = 'segment'
            and customer_segments.segment_model_id = serving_models.serving_model_id
),

scoring_date as (
    select * from {{ ref('int_scoring_date') }}
),

latest_scores as (
    select propensity_scores.*
    from propensity_scores
    inner join scoring_date
        on propensity_scores.as_of_date = scoring_date.as_of_date
    inner join serving_propensity_model
        on propensity_scores.model_id = serving_propensity_model.model_id
),

scored_and_segmented as (
    select
        latest_scores.customer_id,
        latest_scores.as_of_date,
        latest_scores.propensity,
        latest_scores.propensity_decile,
        latest_scores.propensity_band,
        latest_scores.is_predicted_buyer,
        latest_scores.reason_1,
        latest_scores.model_id,
        serving_segments.segment_id,
        serving_segments.segment_name,
        serving_segments.segment_model_id
    from latest_scores
    left join serving_segments
        on
            latest_scores.customer_id = serving_segments.customer_id
            and latest_scores.as_of_date = serving_segments.as_of_date
),

-- the most specific playbook row: the longest segment name it starts with,
-- else the '*' row of the band
matched_plays as (
    select
        scored_and_segmented.customer_id,
        arg_max(
            campaign_playbook.recommended_action,
            length(campaign_playbook.segment_base_name)
        ) as recommended_action,
        arg_max(campaign_playbook.offer, length(campaign_playbook.segment_base_name)) as offer
    from scored_and_segmented
    inner join campaign_playbook
        on
            scored_and_segmented.propensity_band = campaign_playbook.propensity_band
            and (
                campaign_playbook.segment_base_name = '*'
                or starts_with(scored_and_segmented.segment_name, campaign_playbook.segment_base_name)
            )
    group by scored_and_segmented.customer_id
),

final as (
    select
        scored_and_segmented.customer_id,
        scored_and_segmented.segment_id,
        scored_and_segmented.segment_name,
        scored_and_segmented.propensity_band,
        matched_plays.recommended_action,
        matched_plays.offer,
        scored_and_segmented.reason_1 as top_reason,
        scored_and_segmented.model_id as propensity_model_id,
        scored_and_segmented.segment_model_id,
        scored_and_segmented.propensity,
        scored_and_segmented.propensity_decile,
        scored_and_segmented.is_predicted_buyer,
        scored_and_segmented.as_of_date
    from scored_and_segmented
    inner join matched_plays
        on scored_and_segmented.customer_id = matched_plays.customer_id
)

select * from final
