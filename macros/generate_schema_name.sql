{#
  Public marts land in the target schema (main) under their plain names, which
  BI tools read; staging and intermediate models go to schemas named exactly
  "staging" and "intermediate" instead of dbt's default "main_staging".
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
