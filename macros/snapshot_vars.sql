{#
  Validated vars that reach SQL. Each returns a literal that is safe to inline,
  or stops the build with a message that names the var and what it accepts.
#}
{% macro scoring_as_of_date_literal() %}
    {#- 'default' resolves in SQL to the day after the last event (int_snapshot_dates). -#}
    {%- set value = run_input('as_of_date') | string | trim -%}
    {%- if value == 'default' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
        {{ exceptions.raise_compiler_error(
            "The var as_of_date must be a date written YYYY-MM-DD (or 'default' for the day "
            ~ "after the last event in the data); got: '" ~ value ~ "'"
        ) }}
    {%- endif -%}
    {%- set year, month, day = value.split('-') | map('int') | list -%}
    {%- set is_real_date = 1 <= year and 1 <= month <= 12 and 1 <= day <= days_in_month(year, month) -%}
    {%- if not is_real_date -%}
        {{ exceptions.raise_compiler_error(
            "The var as_of_date is not a real calendar date: '" ~ value ~ "'"
        ) }}
    {%- endif -%}
    {{ return("date '" ~ value ~ "'") }}
{% endmacro %}


{% macro positive_int_var(name, max_value=100000) %}
    {%- set value = var(name) | string | trim -%}
    {%- if not modules.re.match('^[0-9]+$', value) or value | int < 1 or value | int > max_value -%}
        {{ exceptions.raise_compiler_error(
            "The var " ~ name ~ " must be a whole number from 1 to " ~ max_value ~ "; got: '"
            ~ value ~ "'"
        ) }}
    {%- endif -%}
    {{ return(value | int) }}
{% endmacro %}


{% macro days_in_month(year, month) %}
    {%- set first_of_next = modules.datetime.date(year + (month // 12), month % 12 + 1, 1) -%}
    {{ return((first_of_next - modules.datetime.timedelta(days=1)).day) }}
{% endmacro %}


{#
  True when this run builds a model tagged "training". Only then are the
  training snapshots computed; the daily job (--exclude tag:training) needs the
  scoring snapshot alone.
#}
{% macro run_includes_training() %}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- for node in graph.nodes.values() -%}
        {%- if 'training' in node.tags and node.unique_id in selected_resources -%}
            {{ return(true) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{% endmacro %}


{#
  The var backtest_label_dates: extra as_of dates whose labels the walk-forward
  backtest needs (segment-and-predict backtest). A list of YYYY-MM-DD dates (or
  one comma-separated string); empty by default. Returns the list of date
  literals, or stops the build with a message naming the var.
#}
{% macro backtest_label_dates_literals() %}
    {%- set value = var('backtest_label_dates') -%}
    {%- if value is string -%}
        {%- set value = value.split(',') | map('trim') | reject('equalto', '') | list -%}
    {%- endif -%}
    {%- set literals = [] -%}
    {%- for item in value -%}
        {%- set text = item | string | trim -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) -%}
            {{ exceptions.raise_compiler_error(
                "The var backtest_label_dates must be a list of dates written YYYY-MM-DD; got: '"
                ~ text ~ "'"
            ) }}
        {%- endif -%}
        {%- do literals.append("date '" ~ text ~ "'") -%}
    {%- endfor -%}
    {{ return(literals) }}
{% endmacro %}
