-- Point-in-time features per customer and as_of date: the model input. Every
-- feature uses only events strictly before as_of_date. The label is not here:
-- it is customer_labels, which only training and evaluation join, so no label
-- column can become a feature.
-- The feature columns are declared once, in _features__models.yml: each
-- column's meta says which CTE below computes it (or its SQL), its value when
-- the customer had no such event, and its raw table (a feature of an absent or
-- empty table is null). A new feature is its YAML entry, plus its computation
-- in an intermediate model (a new intermediate model also gets a CTE and a
-- join here).
-- Incremental by as_of_date: a run replaces the dates it computes (today's
-- scoring date; the training snapshots when it trains) and keeps the others. A
-- column added to the YAML is appended to an existing table, one removed from
-- it is dropped first (drop_undeclared_columns), so a new version runs on an
-- existing warehouse without a full refresh.
-- Built after customer_labels and its tests, though it reads no label: a run
-- that cannot train (too few labelled snapshots) stops before any feature,
-- model or score changes (docs/bad_inputs.md).
-- A run that does not train then moves the dates older than feature_history_days
-- before the scoring date to Parquet beside the warehouse (post_hook,
-- macros/feature_history.sql).
-- depends_on: {{ ref('customer_labels') }}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='append_new_columns',
    pre_hook="{{ drop_undeclared_columns() }}",
    post_hook="{{ archive_feature_history() }}",
) }}

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

        -- every feature declared in _features__models.yml, as its meta says
        -- (macros/feature_helpers.sql: feature_columns_select)
        {{ feature_columns_select(model) | join(",\n        ") }}

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
