-- Who to target this week, per segment: the highest-propensity customers of
-- each segment with the playbook's action and the top reason behind the score.
with

targets as (
    select * from {{ ref('campaign_target_customers') }}
),

ranked as (
    select
        segment_name,
        customer_id,
        propensity,
        recommended_action,
        offer,
        top_reason,
        row_number() over (partition by segment_id order by propensity desc) as rank_in_segment
    from targets
    where propensity_band in ('high', 'medium')
)

select * from ranked
where rank_in_segment <= 100
order by segment_name, rank_in_segment
