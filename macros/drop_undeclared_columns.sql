{#
  Pre-hook of an incremental table with an enforced contract: drop the columns
  of the existing table that its YAML no longer declares, before dbt appends
  the new ones (on_schema_change='append_new_columns'). Together they keep an
  existing warehouse's table equal to the contract when a column is added or
  removed (e.g. the label that moved from customer_features to customer_labels),
  so the next run of a new version needs no full refresh and no stale column
  reaches a model. Dropping is safe: every date's row is rebuilt from the raw
  export when it is computed again, and no model reads a column the contract
  does not declare. Logged, so the run says what changed.
#}
{% macro drop_undeclared_columns() %}
    {%- if execute and is_incremental() -%}
        {%- set declared = model.columns.keys() | map('lower') | list -%}
        {%- for column in adapter.get_columns_in_relation(this) -%}
            {%- if column.name | lower not in declared -%}
                {{ log("Dropping column " ~ column.name ~ " of " ~ this ~ ": its YAML no longer declares it", info=true) }}
                alter table {{ this }} drop column {{ adapter.quote(column.name) }};
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
