{#
  The run's inputs: the two vars that change from one run to the next in real use,
  raw_data_path (an export written to a new, dated folder each day) and as_of_date
  (a backfill, the backtest's dates). dbt parses the whole project again whenever
  the command-line vars differ from the previous run's (4 s against 1 s for its
  partial parse on this project, docs/performance.md), so segment-and-predict
  hands these two over in the environment, as SAP_RAW_DATA_PATH and
  SAP_AS_OF_DATE (segment_and_predict/dbt/jobs.py, RUN_INPUT_VARS), and they are
  read only while the run executes, never while dbt parses: what dbt does not
  read at parse time cannot make it parse again.

  Which value a run uses: a value given in --vars (plain `dbt build --vars
  '{raw_data_path: ...}'`), else the environment, else the default in
  dbt_project.yml (at parse time always the default; nothing parsed depends on it).
#}
{% macro run_input(name) %}
    {%- if execute and name not in command_line_vars() -%}
        {%- set from_environment = env_var('SAP_' ~ name | upper, '') -%}
        {%- if from_environment != '' -%}
            {{ return(from_environment) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(var(name)) }}
{% endmacro %}


{# The vars given on the command line (--vars), as a mapping; empty when none. #}
{% macro command_line_vars() %}
    {%- set given = invocation_args_dict.get('vars') or {} -%}
    {%- if given is string -%}
        {%- set given = fromyaml(given) or {} -%}
    {%- endif -%}
    {{ return(given) }}
{% endmacro %}
