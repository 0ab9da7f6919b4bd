-- Each segment of the segmenter serving the latest date, in words and
-- figures: name and sentence, size and share, key averages against the whole
-- base, mean propensity today, observed purchase rate over the label window, and the profile
-- attributes most common in it, and the raw tables the segments were built from.
-- Only the serving segmenter's assignments (serving_models) are profiled.
with

customer_segments as (
    select * from {{ ref('customer_segments') }}
),

customer_features as (
    select * from {{ ref('customer_features') }}
),

propensity_scores as (
    select * from {{ ref('propensity_scores') }}
),

segment_models as (
    select * from {{ ref('segment_models') }}
),

data_sources as (
    select * from {{ ref('data_sources') }}
),

serving_models as (
    select * from {{ ref('serving_models') }}
),

-- the segmenter that serves (serving_models): a profile never mixes segmenters
serving_segmenter as (
    select serving_model_id as segment_model_id
    from serving_models
    where model_kind = 'segment'
),

sources_present as (
    select string_agg(table_name, ', ' order by contract_position) as data_sources_present
    from data_sources
    where status = 'present'
),

scoring_date as (
    select * from {{ ref('int_scoring_date') }}
),

latest_assignments as (
    select customer_segments.*
    from customer_segments
    inner join scoring_date
        on customer_segments.as_of_date = scoring_date.as_of_date
    inner join serving_segmenter
        on customer_segments.segment_model_id = serving_segmenter.segment_model_id
),

assigned_customers as (
    select
        latest_assignments.segment_model_id,
        latest_assignments.segment_id,
        latest_assignments.segment_name,
        latest_assignments.as_of_date,
        customer_features.orders_365d,
        customer_features.total_spend_365d,
        customer_features.days_since_last_order,
        customer_features.sessions_30d,
        customer_features.email_open_rate_90d,
        customer_features.discount_usage_rate_365d,
        {%- for category_group in category_groups() %}
            customer_features.share_spend_{{ category_group }},
        {%- endfor %}
        customer_features.acquisition_channel,
        customer_features.device_type,
        customer_features.region,
        propensity_scores.propensity
    from latest_assignments
    inner join customer_features
        on
            latest_assignments.customer_id = customer_features.customer_id
            and latest_assignments.as_of_date = customer_features.as_of_date
    left join propensity_scores
        on
            latest_assignments.customer_id = propensity_scores.customer_id
            and latest_assignments.as_of_date = propensity_scores.as_of_date
),

whole_base as (
    select
        count(*) as customers,
        avg(orders_365d) as orders_365d,
        avg(total_spend_365d) as total_spend_365d,
        avg(sessions_30d) as sessions_30d,
        avg(propensity) as propensity
    from assigned_customers
),

by_segment as (
    select
        segment_model_id,
        segment_id,
        any_value(segment_name) as segment_name,
        any_value(as_of_date) as as_of_date,
        count(*) as customers,
        avg(orders_365d) as avg_orders_365d,
        avg(total_spend_365d) as avg_spend_365d,
        median(days_since_last_order) as median_days_since_last_order,
        avg(sessions_30d) as avg_sessions_30d,
        avg(email_open_rate_90d) as avg_email_open_rate_90d,
        avg(discount_usage_rate_365d) as avg_discount_usage_rate_365d,
        {#- the segment's typical spend mix: the mean of its customers' shares #}
        {%- for category_group in category_groups() %}
            avg(share_spend_{{ category_group }}) as spend_share_{{ category_group }},
        {%- endfor %}
        avg(propensity) as mean_propensity,
        {{ most_common("acquisition_channel") }} as top_acquisition_channel,
        {{ most_common("device_type") }} as top_device_type,
        {{ most_common("region") }} as top_region
    from assigned_customers
    group by segment_model_id, segment_id
),

segment_texts as (
    select
        segment_model_id,
        cast(item ->> 'segment_id' as bigint) as segment_id,
        item ->> 'description' as segment_description
    from ({{ unnest_json_rows('segment_models', 'segments_json', ['segment_model_id']) }})
),

observed_rates as (
    select
        segment_model_id,
        observed_purchase_rate_as_of_date,
        observed_purchase_rates_json
    from segment_models
),

final as (
    select
        by_segment.segment_model_id,
        by_segment.segment_id,
        by_segment.segment_name,
        segment_texts.segment_description,
        by_segment.top_acquisition_channel,
        by_segment.top_device_type,
        by_segment.top_region,
        by_segment.customers,
        by_segment.customers / whole_base.customers as customer_share,
        by_segment.avg_orders_365d,
        by_segment.avg_orders_365d / nullif(whole_base.orders_365d, 0) as orders_365d_vs_base,
        by_segment.avg_spend_365d,
        by_segment.avg_spend_365d / nullif(whole_base.total_spend_365d, 0) as spend_365d_vs_base,
        by_segment.median_days_since_last_order,
        by_segment.avg_sessions_30d,
        by_segment.avg_sessions_30d / nullif(whole_base.sessions_30d, 0) as sessions_30d_vs_base,
        by_segment.avg_email_open_rate_90d,
        by_segment.avg_discount_usage_rate_365d,
        {%- for category_group in category_groups() %}
            by_segment.spend_share_{{ category_group }},
        {%- endfor %}
        by_segment.mean_propensity,
        by_segment.mean_propensity / nullif(whole_base.propensity, 0) as propensity_vs_base,
        cast(
            json_extract(
                observed_rates.observed_purchase_rates_json, '$."' || by_segment.segment_id || '"'
            ) as double
        ) as observed_purchase_rate_{{ positive_int_var('label_window_days', 366) }}d,
        cast(observed_rates.observed_purchase_rate_as_of_date as date)
            as observed_purchase_rate_as_of_date,
        sources_present.data_sources_present,
        by_segment.as_of_date
    from by_segment
    cross join whole_base
    cross join sources_present
    left join segment_texts
        on
            by_segment.segment_model_id = segment_texts.segment_model_id
            and by_segment.segment_id = segment_texts.segment_id
    left join observed_rates
        on by_segment.segment_model_id = observed_rates.segment_model_id
)

select * from final
