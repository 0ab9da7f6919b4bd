{#
  The one way models read the raw export.

  raw_source('orders') returns read_parquet of the table's files when it is
  exported (one file orders.parquet, or the part files of a folder orders/ or
  orders.parquet/), and otherwise an empty relation with
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
        {{ return(raw_table_read(table_name)) }}
    {%- else -%}
        {%- set typed_nulls = [] -%}
        {%- for column in node.columns.values() -%}
            {%- do typed_nulls.append('cast(null as ' ~ column.data_type ~ ') as ' ~ column.name) -%}
        {%- endfor -%}
        {{ return('(select ' ~ typed_nulls | join(', ') ~ ' where false)') }}
    {%- endif -%}
{% endmacro %}


{#
  The raw sources of the contract (models/staging/_raw__sources.yml), sorted by
  name; none while dbt parses (the graph is not there yet).
#}
{% macro raw_source_nodes() %}
    {%- set nodes = [] -%}
    {%- if execute -%}
        {%- for node in graph.sources.values() if node.source_name == 'raw' -%}
            {%- do nodes.append(node) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(nodes | sort(attribute='name')) }}
{% endmacro %}


{% macro raw_source_node(table_name) %}
    {%- for node in graph.sources.values() -%}
        {%- if node.source_name == 'raw' and node.name == table_name -%}
            {{ return(node) }}
        {%- endif -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("No raw source named '" ~ table_name ~ "' in the contract.") }}
{% endmacro %}


{#
  The files of a raw table, as segment_and_predict/data/raw_files.py lists them
  (through the plugin's SQL function raw_table_files): the one owner of the
  file list, so the structural checks and every read open the same files.
  Returns {files, duckdb_paths (glob characters escaped), location, problem}.
#}
{% macro raw_table_files(table_name) %}
    {%- set result = run_query(
        "select raw_table_files('" ~ validated_raw_data_path() ~ "', '" ~ table_name ~ "')"
    ) -%}
    {{ return(fromjson(result.columns[0].values()[0])) }}
{% endmacro %}


{# Where a table is (or would be) in the raw folder, for messages and data_sources. #}
{% macro raw_table_path(table_name) %}
    {%- if not execute -%}
        {{ return(validated_raw_data_path() ~ '/' ~ table_name ~ '.parquet') }}
    {%- endif -%}
    {{- return(raw_table_files(table_name).location) -}}
{% endmacro %}


{# read_parquet over exactly the table's files, read literally (no globbing). #}
{% macro raw_table_read(table_name) %}
    {%- set located = raw_table_files(table_name) -%}
    {%- if located.problem or not located.files -%}
        {{ exceptions.raise_compiler_error(located.problem or (
            "Raw table '" ~ table_name ~ "' was not found at " ~ located.location ~ "."
        )) }}
    {%- endif -%}
    {%- set quoted = [] -%}
    {%- for path in located.duckdb_paths -%}
        {%- do quoted.append("'" ~ path | replace("'", "''") ~ "'") -%}
    {%- endfor -%}
    {{ return('read_parquet([' ~ quoted | join(', ') ~ '])') }}
{% endmacro %}


{% macro validated_raw_data_path() %}
    {%- set path = run_input('raw_data_path') | string -%}
    {%- if path | trim == '' or "'" in path or '\\' in path or ';' in path -%}
        {{ exceptions.raise_compiler_error(
            "The var raw_data_path must be a folder path without quotes, backslashes or "
            ~ "semicolons; got: " ~ path
        ) }}
    {%- endif -%}
    {{- return(path.rstrip('/')) -}}
{% endmacro %}


{# True when the table's Parquet file(s) exist and hold at least one row. #}
{% macro raw_table_has_rows(table_name) %}
    {%- if not execute -%}
        {{ return(true) }}
    {%- elif not raw_table_exists(table_name) -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set result = run_query(
        "select count(*) > 0 from (select 1 from " ~ raw_table_read(table_name) ~ " limit 1)"
    ) -%}
    {{ return(result.columns[0].values()[0]) }}
{% endmacro %}


{# True when the table is exported in one of its layouts (or a layout problem names it). #}
{% macro raw_table_exists(table_name) %}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set located = raw_table_files(table_name) -%}
    {{ return(located.files | length > 0 or located.problem is not none) }}
{% endmacro %}
