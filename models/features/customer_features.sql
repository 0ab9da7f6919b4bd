-- Point-in-time features per customer and as_of date: the model input. Every
-- feature uses only events strictly before as_of_date. The label is not here:
-- it is customer_labels, which only training and evaluation join, so no label
-- column can become a feature.
-- Incremental by as_of_date: a run replaces the dates it computes (today's
-- scoring date; the training snapshots when it trains) and keeps the others. A
-- column added to the YAML is appended to an existing table, one removed from
-- it is dropped first (drop_undeclared_columns), so a new version runs on an
-- existing warehouse without a full refresh.
-- Built after customer_labels and its tests, though it reads no label: a run
-- that cannot train (too few labelled snapshots) stops before any feature,
-- model or score changes (docs/bad_inputs.md).
-- depends_on: {{ ref('customer_labels') }}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='append_new_columns',
    pre_hook="{{ drop_undeclared_columns() }}",
) }}
{%- set has_sessions = raw_table_has_rows('sessions') %}
{%- set has_returns = raw_table_has_rows('returns') %}
{%- set has_tickets = raw_table_has_rows('support_tickets') %}
{%- set has_tiers = raw_table_has_rows('loyalty_tier_changes') %}
{%- set has_subscriptions = raw_table_has_rows('email_subscription_changes') %}

with

customer_snapshots as (
    select * from {{ ref('int_customer_snapshots') }}
),

customer_attributes as (
    select * from {{ ref('int_customer_attributes_as_of_snapshots') }}
),

orders as (
    select * from {{ ref('int_orders_aggregated_to_snapshots') }}
),

order_history as (
    select * from {{ ref('int_order_history_aggregated_to_snapshots') }}
),

bgnbd as (
    select * from {{ ref('int_bgnbd_predictions_to_snapshots') }}
),

order_lines as (
    select * from {{ ref('int_order_lines_aggregated_to_snapshots') }}
),

returns as (
    select * from {{ ref('int_returns_aggregated_to_snapshots') }}
),

support_tickets as (
    select * from {{ ref('int_support_tickets_aggregated_to_snapshots') }}
),

sessions as (
    select * from {{ ref('int_sessions_aggregated_to_snapshots') }}
),

marketing_messages as (
    select * from {{ ref('int_marketing_messages_aggregated_to_snapshots') }}
),

final as (
    select
        -- keys
        customer_snapshots.customer_id,
        customer_snapshots.as_of_date,

        -- profile
        customer_snapshots.age_band,
        customer_snapshots.region,
        customer_snapshots.acquisition_channel,
        customer_snapshots.device_type,
        {% if has_tiers -%}
            coalesce(customer_attributes.loyalty_tier, 'none')
        {%- else -%}
            cast(null as varchar)
        {%- endif %} as loyalty_tier,
        customer_snapshots.tenure_days,
        {% if has_subscriptions -%}
            coalesce(customer_attributes.is_email_subscribed, true)
        {%- else -%}
            cast(null as boolean)
        {%- endif %} as is_email_subscribed,

        -- transactions
        coalesce(orders.orders_30d, 0) as orders_30d,
        coalesce(orders.orders_90d, 0) as orders_90d,
        coalesce(orders.orders_365d, 0) as orders_365d,
        orders.days_since_last_order,
        orders.avg_order_value_365d,
        coalesce(orders.total_spend_365d, 0) as total_spend_365d,
        orders.discount_usage_rate_365d,
        orders.avg_days_between_orders_365d,
        coalesce(orders.spend_30d, 0) as spend_30d,
        coalesce(orders.spend_prior_30d, 0) as spend_prior_30d,
        coalesce(orders.spend_30d, 0) - coalesce(orders.spend_prior_30d, 0) as spend_trend_30d,

        -- purchase history and rhythm (every order before as_of_date, no look-back)
        coalesce(order_history.orders_lifetime, 0) as orders_lifetime,
        order_history.days_since_first_order,
        order_history.days_since_last_order_lifetime,
        order_history.purchase_gap_mean_days,
        order_history.purchase_gap_stddev_days,
        order_history.recency_to_purchase_gap_ratio,
        coalesce(order_history.orders_91_180d, 0) as orders_91_180d,
        bgnbd.bgnbd_probability_alive,
        bgnbd.bgnbd_expected_purchases_next_window,
        bgnbd.bgnbd_purchase_probability_next_window,

        -- returns and support
        {{ count_from_source('returns.returns_90d', has_returns) }} as returns_90d,
        {% if has_returns -%}
            coalesce(returns.refunded_amount_365d, 0) / nullif(orders.total_spend_365d, 0)
        {%- else -%}
            cast(null as double)
        {%- endif %} as refund_rate_365d,
        {{ count_from_source('support_tickets.tickets_90d', has_tickets) }} as tickets_90d,
        support_tickets.avg_resolution_hours_365d,
        support_tickets.last_csat_score,

        -- engagement
        {{ count_from_source('sessions.sessions_7d', has_sessions) }} as sessions_7d,
        {{ count_from_source('sessions.sessions_30d', has_sessions) }} as sessions_30d,
        {{ count_from_source('sessions.app_sessions_30d', has_sessions) }} as app_sessions_30d,
        {{ count_from_source('sessions.web_sessions_30d', has_sessions) }} as web_sessions_30d,
        sessions.avg_session_duration_seconds_30d,
        sessions.pages_per_session_30d,
        {{ count_from_source('sessions.product_views_30d', has_sessions) }} as product_views_30d,
        sessions.cart_adds_30d / nullif(sessions.product_views_30d, 0) as cart_add_rate_30d,
        -- an unsubscribed customer's email engagement is unknown, not zero
        case
            when coalesce(customer_attributes.is_email_subscribed, true)
                then marketing_messages.email_open_rate_90d
        end as email_open_rate_90d,
        case
            when coalesce(customer_attributes.is_email_subscribed, true)
                then marketing_messages.email_click_rate_90d
        end as email_click_rate_90d,
        marketing_messages.push_click_rate_90d,
        sessions.weekend_session_share_90d,
        sessions.evening_session_share_90d,

        -- category affinity
        order_lines.share_spend_electronics,
        order_lines.share_spend_home,
        order_lines.share_spend_fashion,
        order_lines.share_spend_beauty,
        order_lines.share_spend_sports,
        order_lines.share_spend_grocery,
        order_lines.share_spend_other

    from customer_snapshots
    left join customer_attributes using (customer_id, as_of_date)
    left join orders using (customer_id, as_of_date)
    left join order_history using (customer_id, as_of_date)
    left join bgnbd using (customer_id, as_of_date)
    left join order_lines using (customer_id, as_of_date)
    left join returns using (customer_id, as_of_date)
    left join support_tickets using (customer_id, as_of_date)
    left join sessions using (customer_id, as_of_date)
    left join marketing_messages using (customer_id, as_of_date)
)

select * from final
