{#
  Post-hook of the incremental Python models. dbt-duckdb (1.11) writes a
  Python model's new rows to a real table "<model>__dbt_tmp<timestamp>" before
  merging them, and never drops it: every run would leave one behind, and a
  run killed mid-way leaves its own. This drops every such table of the model
  inside the model's transaction, so the merge and the clean-up commit together.
#}
{% macro drop_python_staging_tables() %}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set leftovers = run_query(
        "select table_name from information_schema.tables"
        ~ " where table_schema = '" ~ this.schema ~ "'"
        ~ " and starts_with(table_name, '" ~ this.identifier ~ "__dbt_tmp')"
    ) -%}
    {%- set statements = [] -%}
    {%- for name in leftovers.columns[0].values() -%}
        {%- do statements.append('drop table if exists ' ~ adapter.quote(this.schema) ~ '.' ~ adapter.quote(name)) -%}
    {%- endfor -%}
    {{ return(statements | join(';\n') if statements else 'select 1') }}
{% endmacro %}
