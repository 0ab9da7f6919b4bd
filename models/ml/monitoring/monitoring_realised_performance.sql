-- How well past scores did once their outcome is known: for every scoring
-- date whose label window is complete in the data, ROC-AUC and PR-AUC of the
-- stored propensity against whether the customer ordered in
-- [as_of_date, as_of_date + label_window_days) (the rule of in_label_window(), as
-- customer_labels, recomputed here because customer_features only holds
-- it for dates built after their window closed).
-- Incremental: each run adds the dates that became complete and recomputes
-- today's scoring date (a backfill of an old date replaces its scores).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='fail',
) }}

with

propensity_scores as (
    select * from {{ ref('propensity_scores') }}
),

orders as (
    select * from {{ ref('stg_orders') }}
),

scoring_date as (
    select * from {{ ref('int_scoring_date') }}
),

propensity_models as (
    select * from {{ ref('propensity_models') }}
),

observed as (
    select any_value(as_of_date) as scoring_as_of_date
    from scoring_date
),

-- dates this table already holds (none on the first run or a full refresh)
already_evaluated as (
    {% if is_incremental() %}
        select this.as_of_date from {{ this }} as this
    {% else %}
        select cast(null as date) as as_of_date
        where false
    {% endif %}
),

evaluated_dates as (
    select distinct propensity_scores.as_of_date
    from propensity_scores
    cross join observed
    -- the label window of d (macros/label_column.sql) ends by the scoring date,
    -- never counting an order at or after it
    where
        {{ label_window_is_observed(
            'propensity_scores.as_of_date', 'observed.scoring_as_of_date'
        ) }}
        and (
            propensity_scores.as_of_date = observed.scoring_as_of_date
            or propensity_scores.as_of_date not in (
                select already_evaluated.as_of_date from already_evaluated
            )
        )
),

scored as (
    select
        propensity_scores.customer_id,
        propensity_scores.as_of_date,
        propensity_scores.propensity,
        propensity_scores.propensity_decile,
        propensity_scores.is_predicted_buyer,
        propensity_scores.model_id
    from propensity_scores
    inner join evaluated_dates
        on propensity_scores.as_of_date = evaluated_dates.as_of_date
),

buyers as (
    select distinct
        scored.customer_id,
        scored.as_of_date
    from scored
    inner join orders
        on
            scored.customer_id = orders.customer_id
            and {{ in_label_window('orders.ordered_at', 'scored.as_of_date') }}
),

labelled as (
    select
        scored.*,
        buyers.customer_id is not null as is_buyer
    from scored
    left join buyers
        on
            scored.customer_id = buyers.customer_id
            and scored.as_of_date = buyers.as_of_date
),

ranked as (
    select
        *,
        -- mid-rank of the score within its date: ties share their average rank
        rank() over (partition by as_of_date order by propensity)
        + (count(*) over (partition by as_of_date, propensity) - 1) / 2.0 as score_rank
    from labelled
),

by_date as (
    select
        as_of_date,
        min(model_id) as model_id,
        count(distinct model_id) as scoring_models,
        count(*) as customers,
        count(*) filter (where is_buyer) as buyers,
        avg(propensity) as mean_propensity,
        sum(score_rank) filter (where is_buyer) as buyer_rank_sum,
        count(*) filter (where is_predicted_buyer) as predicted_buyers,
        count(*) filter (where is_predicted_buyer and is_buyer) as predicted_buyers_who_bought,
        avg(cast(is_buyer as integer)) filter (where propensity_decile = 1)
            as top_decile_purchase_rate
    from ranked
    group by as_of_date
),

-- Average precision (sklearn's definition): walking the distinct scores from
-- the highest down, the recall gained at each score times the precision of
-- flagging everyone at or above it.
score_levels as (
    select
        as_of_date,
        propensity,
        count(*) as customers,
        count(*) filter (where is_buyer) as buyers
    from labelled
    group by as_of_date, propensity
),

precision_at_levels as (
    select
        as_of_date,
        buyers,
        sum(buyers) over at_or_above / sum(customers) over at_or_above as precision_at_level
    from score_levels
    window at_or_above as (
        partition by as_of_date
        order by propensity desc
        rows between unbounded preceding and current row
    )
),

average_precision as (
    select
        as_of_date,
        sum(buyers * precision_at_level) / nullif(sum(buyers), 0) as pr_auc
    from precision_at_levels
    group by as_of_date
),

final as (
    select
        by_date.as_of_date,
        by_date.model_id,
        {{ label_window_end('by_date.as_of_date') }} as label_window_end_date,
        by_date.customers,
        by_date.buyers,
        by_date.buyers / by_date.customers as base_rate,
        by_date.mean_propensity,
        -- Mann-Whitney: P(a buyer's score > a non-buyer's), ties count half
        (by_date.buyer_rank_sum - by_date.buyers * (by_date.buyers + 1) / 2.0)
        / nullif(by_date.buyers * (by_date.customers - by_date.buyers), 0) as roc_auc,
        average_precision.pr_auc,
        by_date.predicted_buyers_who_bought / nullif(by_date.predicted_buyers, 0)
            as precision_at_threshold,
        by_date.predicted_buyers_who_bought / nullif(by_date.buyers, 0) as recall_at_threshold,
        by_date.top_decile_purchase_rate / nullif(by_date.buyers / by_date.customers, 0)
            as top_decile_lift,
        propensity_models.roc_auc as model_test_roc_auc,
        propensity_models.pr_auc as model_test_pr_auc,
        cast(propensity_models.test_as_of_date as date) as model_test_as_of_date,
        by_date.scoring_models
    from by_date
    inner join average_precision
        on by_date.as_of_date = average_precision.as_of_date
    left join propensity_models
        on by_date.model_id = propensity_models.model_id
)

select * from final
