{#
  Runs first in every build (on-run-start): stops with plain sentences, before
  any model or test runs, when
  - a var that reaches SQL is malformed (as_of_date, raw_load_date, the
    data-quality limit);
  - the raw folder or a required table is missing;
  - a table's files do not follow one layout (one file, or one folder of
    parts; stray copies such as orders_2.parquet), a present raw file (every
    part) is not readable Parquet, lacks a contract column, has a column of
    the wrong type, parts differ in schema, or (required table) it holds no
    rows: checked by raw_table_problem (segment_and_predict/data/raw_checks.py via
    the dbt plugin) on the files raw_table_files lists, the ones the build reads.
  The catalogue of bad inputs and what happens to each: docs/bad_inputs.md.
#}
{% macro check_raw_export() %}
    {%- if not execute or flags.WHICH not in ('build', 'run', 'test') -%}
        {{ return('') }}
    {%- endif -%}
    {%- do scoring_as_of_date_literal() -%}
    {%- do raw_load_date_literal() -%}
    {%- do max_quarantined_share() -%}
    {%- set folder = validated_raw_data_path() -%}
    {%- set found = namespace(any=false) -%}
    {%- for node in graph.sources.values() if node.source_name == 'raw' -%}
        {%- set found.any = found.any or raw_table_exists(node.name) -%}
    {%- endfor -%}
    {%- if not found.any -%}
        {{ exceptions.raise_compiler_error(
            "No raw data: the folder '" ~ folder ~ "' (var raw_data_path) does not exist or holds "
            ~ "none of the contract's tables. Generate the default data with `segment-and-predict generate "
            ~ "--out " ~ folder ~ "`, or set raw_data_path to your export "
            ~ "(docs/raw_data_contract.md)."
        ) }}
    {%- endif -%}
    {%- set problems = [] -%}
    {%- for node in graph.sources.values() if node.source_name == 'raw' -%}
        {%- if raw_table_exists(node.name) -%}
            {%- set checked = run_query(
                "select raw_table_problem('" ~ node.name ~ "', '" ~ folder ~ "')"
            ) -%}
            {%- set problem = checked.columns[0].values()[0] -%}
            {%- if problem -%}
                {%- do problems.append(problem) -%}
            {%- endif -%}
        {%- elif node.meta.get('required') -%}
            {%- do problems.append(
                "Raw table '" ~ node.name ~ "' is required but " ~ raw_table_path(node.name)
                ~ " was not found (docs/raw_data_contract.md)."
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if problems -%}
        {{ exceptions.raise_compiler_error(
            "The raw export does not fit the contract; nothing was built:\n" ~ problems | join('\n')
        ) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}
