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
    keys_{{ node.name }} as (
        -- grouped by the key columns as exported (faster than by text); only
        -- the repeated keys are turned into text
        select
            '{{ node.name }}' as table_name,
            {{ raw_key_text(node.meta.primary_key) }} as key_text,
            hash({{ node.meta.primary_key | join(', ') }}) as key_hash,
            copies
        from (
            select
                {{ node.meta.primary_key | join(', ') }},
                count(*) as copies
            from {{ raw_source(node.name) }}
            where {{ node.meta.primary_key | join(' is not null and ') }} is not null
            group by {{ node.meta.primary_key | join(', ') }}
            having count(*) > 1
        ) as repeated_keys
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
