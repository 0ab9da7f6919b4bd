{{ config(materialized='table') }}
-- depends_on: {{ ref('stg_customers') }}
-- depends_on: {{ ref('stg_orders') }}
-- depends_on: {{ ref('raw_duplicate_keys') }}
{#
  Every row of the raw export counted once, per table and the quarantine rule
  it breaks first (rule null = kept by staging), with the latest event time of
  each group. One pass over each raw table, through the same checked_raw_source
  relation the staging views filter, so that data_quality_issues (the rules
  broken), data_sources (rows kept) and int_snapshot_dates (the last event)
  all read this small table instead of scanning the export again.
#}
{%- set raw_tables = [] -%}
{%- if execute -%}
    {%- for node in graph.sources.values() if node.source_name == 'raw' -%}
        {%- do raw_tables.append(node) -%}
    {%- endfor -%}
{%- endif -%}

with

{% for node in raw_tables | sort(attribute='name') %}
    checked_{{ node.name }} as (
        select
            '{{ node.name }}' as table_name,
            quarantine_rule as rule,
            quarantine_column as column_name,
            count(*) as row_count,
            min(quarantine_example_key) as example_key,
            {% if node.meta.get('event_time') -%}
                max(cast({{ node.meta.event_time }} as timestamp))
            {%- else -%}
                cast(null as timestamp)
            {%- endif %} as last_event_at
        from {{ checked_raw_source(node.name) }}
        group by all
    ),
{% endfor %}

final as (
    {%- for node in raw_tables | sort(attribute='name') %}
        select * from checked_{{ node.name }}
        {% if not loop.last %}union all{% endif %}
    {%- else %}
        select
            cast(null as varchar) as table_name,
            cast(null as varchar) as rule,
            cast(null as varchar) as column_name,
            cast(null as bigint) as row_count,
            cast(null as varchar) as example_key,
            cast(null as timestamp) as last_event_at
        where false
    {%- endfor %}
)

select * from final
