-- How each segment's mean propensity changed between the run's scoring date
-- (int_scoring_date) and the scoring date closest to 30 days before it.
with

scores as (
    select * from {{ ref('propensity_scores') }}
),

segments as (
    select * from {{ ref('customer_segments') }}
),

scoring_dates as (
    select distinct as_of_date from scores
),

latest as (
    select as_of_date as latest_date from {{ ref('int_scoring_date') }}
),

dates as (
    select
        latest.latest_date,
        max(scoring_dates.as_of_date) as month_ago_date
    from latest
    left join scoring_dates
        on scoring_dates.as_of_date <= latest.latest_date - 30
    group by latest.latest_date
),

by_segment_and_date as (
    select
        segments.segment_name,
        scores.as_of_date,
        avg(scores.propensity) as mean_propensity,
        count(*) as customers
    from scores
    inner join segments
        on scores.customer_id = segments.customer_id and scores.as_of_date = segments.as_of_date
    group by segments.segment_name, scores.as_of_date
)

select
    now_.segment_name,
    now_.mean_propensity as mean_propensity_now,
    month_ago.mean_propensity as mean_propensity_month_ago,
    now_.mean_propensity - month_ago.mean_propensity as propensity_change,
    now_.customers as customers_now,
    month_ago.customers as customers_month_ago
from dates
inner join by_segment_and_date as now_
    on dates.latest_date = now_.as_of_date
left join by_segment_and_date as month_ago
    on dates.month_ago_date = month_ago.as_of_date and now_.segment_name = month_ago.segment_name
order by propensity_change desc nulls last
