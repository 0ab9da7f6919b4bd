{#
  raw_duplicate_keys (models/staging/raw_duplicate_keys.sql), one raw table at a
  time: the raw sources with a meta.primary_key, and the select of one table's
  repeated keys.
#}
{% macro raw_keyed_tables() %}
    {%- set keyed_tables = [] -%}
    {%- for node in raw_source_nodes() if node.meta.get('primary_key') -%}
        {%- do keyed_tables.append(node) -%}
    {%- endfor -%}
    {{ return(keyed_tables) }}
{% endmacro %}


{% macro raw_duplicate_keys_select(node) %}
    {%- set key = node.meta.primary_key -%}
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
{%- endmacro %}


{% macro insert_raw_duplicate_keys() %}
    {#- the post-hook: one insert per keyed table after the first (the model's own select) -#}
    {%- set statements = [] -%}
    {%- for node in raw_keyed_tables()[1:] -%}
        {%- do statements.append('insert into ' ~ this ~ '\n' ~ raw_duplicate_keys_select(node)) -%}
    {%- endfor -%}
    {{ return(statements | join(';\n')) }}
{% endmacro %}
