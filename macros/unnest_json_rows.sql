{#
  Rows of a JSON array column, one per element, as a json value `item`, next
  to the given key columns. The registries keep evaluation tables as JSON so
  one training run is one row; these marts lay them out for people and BI.
#}
{% macro unnest_json_rows(relation, json_column, key_columns) %}
    select
        {{ key_columns | join(', ') }},
        unnest(from_json({{ json_column }}, '["json"]')) as item
    from {{ relation }}
{% endmacro %}
