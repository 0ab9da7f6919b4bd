{{ config(materialized='table') }}
{#
  Every row of the raw export counted once, per table and the quarantine rule
  it breaks first (rule null = kept by staging), with the latest event time of
  each group. The quarantined rows come from raw_quarantined_rows (where the
  rules are evaluated, once per build); the kept ones are the rows every
  staging view reads (staged_raw_source), counted with one pass over the event
  time. data_quality_issues (the rules broken), data_sources (rows kept) and
  int_snapshot_dates (the last event) all read this small table instead of
  scanning the export again.
#}
{%- set raw_tables = raw_source_nodes() -%}

with

quarantined as (
    select
        table_name,
        rule,
        column_name,
        count(*) as row_count,
        min(example_key) as example_key,
        max(event_at) as last_event_at
    from {{ ref('raw_quarantined_rows') }}
    group by table_name, rule, column_name
),

{% for node in raw_tables %}
    kept_{{ node.name }} as (
        select
            '{{ node.name }}' as table_name,
            count(*) as row_count,
            {% if node.meta.get('event_time') -%}
                max(cast({{ node.meta.event_time }} as timestamp))
            {%- else -%}
                cast(null as timestamp)
            {%- endif %} as last_event_at
        from {{ staged_raw_source(node.name) }}
        having count(*) > 0
    ),
{% endfor %}

final as (
    -- by name: a kept group has no rule, column or example key (null)
    select * from quarantined
    {%- for node in raw_tables %}
        union all by name
        select * from kept_{{ node.name }}
    {%- endfor %}
)

select * from final
