{#
  The one way models read the raw export.

  raw_source('orders') returns the source relation when
  <raw_data_path>/orders.parquet exists, and otherwise an empty relation with
  the contract's columns, so every model downstream still builds and the
  features that table feeds become null. A missing *required* table never gets
  this far in build/run/test: check_raw_export (on-run-start) stops the run
  first with a plain message. Elsewhere (e.g. sqlfluff compiling a model) the
  stand-in lets linting work without data.
#}
{% macro raw_source(table_name) %}
    {%- set relation = source('raw', table_name) -%}
    {%- if not execute -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set node = raw_source_node(table_name) -%}
    {%- if raw_table_exists(table_name) -%}
        {{ return(relation) }}
    {%- else -%}
        {%- set typed_nulls = [] -%}
        {%- for column in node.columns.values() -%}
            {%- do typed_nulls.append('cast(null as ' ~ column.data_type ~ ') as ' ~ column.name) -%}
        {%- endfor -%}
        {{ return('(select ' ~ typed_nulls | join(', ') ~ ' where false)') }}
    {%- endif -%}
{% endmacro %}


{% macro raw_source_node(table_name) %}
    {%- for node in graph.sources.values() -%}
        {%- if node.source_name == 'raw' and node.name == table_name -%}
            {{ return(node) }}
        {%- endif -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("No raw source named '" ~ table_name ~ "' in the contract.") }}
{% endmacro %}


{% macro raw_table_path(table_name) %}
    {{- return(validated_raw_data_path() ~ '/' ~ table_name ~ '.parquet') -}}
{% endmacro %}


{% macro validated_raw_data_path() %}
    {%- set path = var('raw_data_path') | string -%}
    {%- if path | trim == '' or "'" in path or '\\' in path or ';' in path -%}
        {{ exceptions.raise_compiler_error(
            "The var raw_data_path must be a folder path without quotes, backslashes or "
            ~ "semicolons; got: " ~ path
        ) }}
    {%- endif -%}
    {{- return(path.rstrip('/')) -}}
{% endmacro %}


{# True when the table's Parquet file exists and holds at least one row. #}
{% macro raw_table_has_rows(table_name) %}
    {%- if not execute -%}
        {{ return(true) }}
    {%- elif not raw_table_exists(table_name) -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set result = run_query(
        "select count(*) > 0 from (select 1 from " ~ source('raw', table_name) ~ " limit 1)"
    ) -%}
    {{ return(result.columns[0].values()[0]) }}
{% endmacro %}


{% macro raw_table_exists(table_name) %}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set result = run_query(
        "select count(*) from glob('" ~ raw_table_path(table_name) ~ "')"
    ) -%}
    {{ return(result.columns[0].values()[0] > 0) }}
{% endmacro %}
