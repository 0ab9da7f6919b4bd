{{ config(materialized='table') }}
{#
  Primary keys that occur more than once in a raw table, as text (key columns
  joined by '|') and as the hash of the key columns as exported. Computed once
  per build so that the quarantine (macros/quarantine.sql) looks row by row only
  at these keys: without it every read of a staging view would group the whole
  raw table again. The quarantine matches rows by key_hash (an integer: no key
  is turned into text on the way), then tells keys apart by their columns.
#}
{%- set keyed_tables = [] -%}
{%- if execute -%}
    {%- for node in graph.sources.values() if node.source_name == 'raw' and node.meta.get('primary_key') -%}
        {%- do keyed_tables.append(node) -%}
    {%- endfor -%}
{%- endif %}

with

{% for node in keyed_tables | sort(attribute='name') %}
    {%- set key = node.meta.primary_key %}
    keys_{{ node.name }} as (
        -- Sorted by the key columns as exported, a repeated key's rows sit next
        -- to each other: a row equal to the one before it is an extra copy.
        -- (A sort is several times faster here than grouping by the key, which
        -- builds a hash table as large as the table.) Only the repeated keys
        -- are turned into text.
        select
            '{{ node.name }}' as table_name,
            {{ raw_key_text(key) }} as key_text,
            hash({{ key | join(', ') }}) as key_hash,
            count(*) + 1 as copies
        from (
            select
                {%- for column in key %}
                    {{ column }},
                    lag({{ column }}) over sorted_keys as previous_{{ column }}
                    {%- if not loop.last %},{% endif %}
                {%- endfor %}
            from {{ raw_source(node.name) }}
            where {{ key | join(' is not null and ') }} is not null
            window sorted_keys as (order by {{ key | join(', ') }})
        ) as sorted_rows
        where
            {%- for column in key %}
                {{ column }} = previous_{{ column }}{% if not loop.last %} and{% endif %}
            {%- endfor %}
        group by {{ key | join(', ') }}
    ),
{% endfor %}

final as (
    {%- for node in keyed_tables | sort(attribute='name') %}
        select * from keys_{{ node.name }}
        {% if not loop.last %}union all{% endif %}
    {%- else %}
        select
            cast(null as varchar) as table_name,
            cast(null as varchar) as key_text,
            cast(null as ubigint) as key_hash,
            cast(null as bigint) as copies
        where false
    {%- endfor %}
)

select * from final
