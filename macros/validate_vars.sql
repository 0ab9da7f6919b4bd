{#
  Runs in every build (on-run-start, before any model): every var that a model
  or test inlines in SQL, or that a Python model reads through its config, is
  checked here, so a bad value stops the run with one sentence naming the var
  instead of a failure (or worse, altered SQL) halfway through. The same
  macros guard each place the var is used; this only makes the error early.
  raw_data_path is checked by check_raw_export, the int vars of the snapshot
  models where they are used (each with its own upper bound). A var given on
  the command line that dbt_project.yml does not list (a typo such as
  propensity_gate_min_roc_aux) is refused with the closest known name
  (segment_and_predict/dbt/project.py through the plugin).
#}
{% macro validate_vars() %}
    {%- if not execute or flags.WHICH not in ('build', 'run', 'test') -%}
        {{ return('') }}
    {%- endif -%}
    {%- do refuse_unknown_vars() -%}
    {%- do scoring_as_of_date_literal() -%}
    {%- for name in [
        'propensity_gate_min_roc_auc', 'propensity_gate_min_pr_auc', 'propensity_gate_min_f1',
        'segment_gate_min_silhouette', 'segment_gate_min_stability',
        'segment_gate_min_segment_share'] -%}
        {%- do fraction_var(name) -%}
    {%- endfor -%}
    {%- for name in [
        'segment_gate_min_k', 'segment_gate_max_k', 'model_threads', 'feature_history_days'] -%}
        {%- do positive_int_var(name) -%}
    {%- endfor -%}
    {%- do positive_int_var('propensity_max_training_rows', 1000000000) -%}
    {%- set new_customer_days = positive_int_var('segment_new_customer_days', 3660) -%}
    {%- set label_days = positive_int_var('label_window_days', 366) -%}
    {%- if new_customer_days < label_days -%}
        {{ exceptions.raise_compiler_error(
            "The var segment_new_customer_days (" ~ new_customer_days ~ ") must be at least "
            ~ "label_window_days (" ~ label_days ~ "): a customer younger than the label window "
            ~ "has not had one whole window to buy, so a dormant or lapsing segment would "
            ~ "misjudge them (docs/segmentation.md)."
        ) }}
    {%- endif -%}
    {%- set must_beat = var('propensity_gate_must_beat_baselines') | string | trim | lower -%}
    {%- if must_beat not in ('true', 'false') -%}
        {{ exceptions.raise_compiler_error(
            "The var propensity_gate_must_beat_baselines must be true or false; got: '"
            ~ must_beat ~ "'"
        ) }}
    {%- endif -%}
    {%- do raw_load_date_literal() -%}
    {%- do max_quarantined_share() -%}
    {%- do monitoring_psi_thresholds() -%}
    {%- do backtest_label_dates_literals() -%}
    {{ return('') }}
{% endmacro %}


{# A number from 0 to 1 (gate thresholds), safe to inline in SQL. #}
{% macro fraction_var(name) %}
    {%- set value = var(name) | string | trim -%}
    {%- if not modules.re.match('^[0-9]*[.]?[0-9]+$', value) or value | float > 1 -%}
        {{ exceptions.raise_compiler_error(
            "The var " ~ name ~ " must be a number from 0 to 1; got: '" ~ value ~ "'"
        ) }}
    {%- endif -%}
    {{ return(value | float) }}
{% endmacro %}


{#
  dbt ignores a var nobody reads, so a misspelt gate would run with the
  default. The known names are dbt_project.yml's vars: (read there, in Python,
  not restated here).
#}
{% macro refuse_unknown_vars() %}
    {%- set given_text = tojson(command_line_vars()) -%}
    {%- set result = run_query(
        "select unknown_vars_problem('" ~ given_text | replace("'", "''") ~ "', '"
        ~ (invocation_args_dict.get('project_dir') or '') | replace("'", "''") ~ "')"
    ) -%}
    {%- set problem = result.columns[0].values()[0] -%}
    {%- if problem -%}
        {{ exceptions.raise_compiler_error(problem) }}
    {%- endif -%}
{% endmacro %}
