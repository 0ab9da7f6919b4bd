{#
  Runs first in every build (on-run-start): stops with one plain sentence when
  the raw folder or a required table is missing, before any model or test runs.
#}
{% macro check_raw_export() %}
    {%- if not execute or flags.WHICH not in ('build', 'run', 'test') -%}
        {{ return('') }}
    {%- endif -%}
    {%- set folder = validated_raw_data_path() -%}
    {%- set found = run_query("select count(*) from glob('" ~ folder ~ "/*.parquet')") -%}
    {%- if found.columns[0].values()[0] == 0 -%}
        {{ exceptions.raise_compiler_error(
            "No raw data: the folder '" ~ folder ~ "' (var raw_data_path) does not exist or holds "
            ~ "no .parquet files. Generate the default data with `segment-and-predict generate "
            ~ "--out " ~ folder ~ "`, or set raw_data_path to your export "
            ~ "(docs/raw_data_contract.md)."
        ) }}
    {%- endif -%}
    {%- for node in graph.sources.values() if node.source_name == 'raw' and node.meta.get('required') -%}
        {%- if not raw_table_exists(node.name) -%}
            {{ exceptions.raise_compiler_error(
                "Raw table '" ~ node.name ~ "' is required but " ~ raw_table_path(node.name)
                ~ " was not found (docs/raw_data_contract.md)."
            ) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return('') }}
{% endmacro %}
