-- The rows realised performance is computed from: every stored score of a date
-- whose label window is complete by the scoring date, with its outcome, is_buyer:
-- did the customer order in [as_of_date, as_of_date + label_window_days)? The
-- rule of in_label_window(), as customer_labels, applied here because
-- customer_labels only holds the snapshot dates of the current run. The metrics
-- (ROC-AUC and PR-AUC by scikit-learn) are the Python model
-- monitoring_realised_performance, which reads the dates it has not evaluated yet.
{{ config(materialized='view', schema='ml', access='protected') }}

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

observed as (
    select any_value(as_of_date) as scoring_as_of_date
    from scoring_date
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
    cross join observed
    -- the label window of d (macros/label_column.sql) ends by the scoring date,
    -- never counting an order at or after it
    where
        {{ label_window_is_observed(
            'propensity_scores.as_of_date', 'observed.scoring_as_of_date'
        ) }}
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

final as (
    select
        scored.as_of_date,
        {{ label_window_end('scored.as_of_date') }} as label_window_end_date,
        scored.customer_id,
        scored.model_id,
        scored.propensity,
        scored.propensity_decile,
        scored.is_predicted_buyer,
        buyers.customer_id is not null as is_buyer
    from scored
    left join buyers
        on
            scored.customer_id = buyers.customer_id
            and scored.as_of_date = buyers.as_of_date
)

select * from final
