-- depends_on: {{ ref('stg_customers') }}
-- depends_on: {{ ref('stg_orders') }}
-- depends_on: {{ ref('raw_duplicate_keys') }}
{#
  Rows of the raw export that staging left out, counted per table, rule and
  column. Built from the same checked_raw_source relation the staging models
  filter, so the counts are exactly what staging excluded. One row per (table,
  rule, column) with at least one quarantined row; no rows = a clean export.
#}
{%- set raw_tables = [] -%}
{%- if execute -%}
    {%- for node in graph.sources.values() if node.source_name == 'raw' -%}
        {%- do raw_tables.append(node.name) -%}
    {%- endfor -%}
{%- endif -%}

with

{% for table_name in raw_tables | sort %}
    checked_{{ table_name }} as (
        select
            '{{ table_name }}' as table_name,
            quarantine_rule as rule,
            quarantine_column as column_name,
            count(*) as rows_quarantined,
            cast(sum(count(*)) over () as bigint) as rows_in_table,
            min(quarantine_example_key) as example_key
        from {{ checked_raw_source(table_name) }}
        group by all
    ),
{% endfor %}

all_tables as (
    {%- for table_name in raw_tables | sort %}
        select * from checked_{{ table_name }}
        {% if not loop.last %}union all{% endif %}
    {%- else %}
        select
            cast(null as varchar) as table_name,
            cast(null as varchar) as rule,
            cast(null as varchar) as column_name,
            cast(null as bigint) as rows_quarantined,
            cast(null as bigint) as rows_in_table,
            cast(null as varchar) as example_key
        where false
    {%- endfor %}
),

final as (
    select
        table_name,
        rule,
        column_name,
        rows_quarantined,
        rows_in_table,
        rows_quarantined / rows_in_table as quarantined_share,
        example_key,
        {{ raw_load_date_literal() }} as load_date,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as checked_at
    from all_tables
    where rule is not null
)

select * from final
