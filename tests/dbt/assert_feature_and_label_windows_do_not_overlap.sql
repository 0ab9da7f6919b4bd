-- Every event a feature used happened strictly before its as_of_date, and
-- every order the label counted happened in [as_of_date, label_window_end).
-- Returns the offending rows; none means the windows never overlap.
{%- set feature_models = [
    'int_orders_aggregated_to_snapshots',
    'int_order_history_aggregated_to_snapshots',
    'int_order_lines_aggregated_to_snapshots',
    'int_returns_aggregated_to_snapshots',
    'int_support_tickets_aggregated_to_snapshots',
    'int_sessions_aggregated_to_snapshots',
    'int_marketing_messages_aggregated_to_snapshots',
    'int_customer_attributes_as_of_snapshots',
] %}

with

feature_events as (
    {%- for model_name in feature_models %}
        select
            '{{ model_name }}' as model_name,
            customer_id,
            as_of_date,
            latest_event_at as event_at
        from {{ ref(model_name) }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

label_orders as (
    select
        'customer_labels' as model_name,
        customer_id,
        as_of_date,
        first_label_order_at as event_at,
        label_window_end_date
    from {{ ref('customer_labels') }}
    where first_label_order_at is not null
),

violations as (
    select
        model_name,
        customer_id,
        as_of_date,
        event_at,
        'feature used an event at or after as_of_date' as problem
    from feature_events
    where event_at >= as_of_date
    union all
    select
        model_name,
        customer_id,
        as_of_date,
        event_at,
        'label counted an order outside [as_of_date, label_window_end_date)' as problem
    from label_orders
    where
        event_at < as_of_date
        or event_at >= label_window_end_date
        or label_window_end_date != {{ label_window_end('as_of_date') }}
)

select * from violations
