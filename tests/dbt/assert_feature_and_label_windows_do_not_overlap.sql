-- Every event a feature used happened strictly before its as_of_date, and
-- every order the label counted happened in [as_of_date, label_window_end).
-- Returns the offending rows; none means the windows never overlap.
-- The feature models are every intermediate model customer_features reads
-- (from dbt's graph, so a new one is covered without a list to update): each
-- carries latest_event_at, the newest event it used (or the column its YAML
-- meta.event_at_column names), unless its YAML meta.point_in_time_proof says why
-- it needs none; a model with neither fails here.
-- depends_on: {{ ref('customer_features') }}
{%- set feature_models = [] %}
{%- if execute %}
    {%- set features_node = graph.nodes['model.' ~ project_name ~ '.customer_features'] %}
    {%- for node_id in features_node.depends_on.nodes | sort %}
        {%- set node = graph.nodes.get(node_id) %}
        {%- if node and node.resource_type == 'model' and node.fqn[1] == 'intermediate' %}
            {%- set event_column = node.meta.get('event_at_column', 'latest_event_at') %}
            {%- if event_column in node.raw_code %}
                {%- do feature_models.append((node, event_column)) %}
            {%- elif not node.meta.get('point_in_time_proof') %}
                {{ exceptions.raise_compiler_error(
                    node.name ~ " feeds customer_features but computes no latest_event_at (the"
                    ~ " newest event it used), so this test cannot check it: add the column, or"
                    ~ " say in its YAML meta.point_in_time_proof why it needs none"
                ) }}
            {%- endif %}
        {%- endif %}
    {%- endfor %}
{%- endif %}

with

feature_events as (
    {%- for node, event_column in feature_models %}
        select
            '{{ node.name }}' as model_name,
            customer_id,
            as_of_date,
            {{ event_column }} as event_at
        from {{ api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias) }}
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
