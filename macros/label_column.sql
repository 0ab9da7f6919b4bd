{#
  The label's column name, from the label window: by default purchased_next_30d
  (label_window_days 30), purchased_next_7d with 7. The one place SQL
  gets it. Python gets it from segment_and_predict.ml.labels.label_column (same
  rule, var passed through model config); YAML cannot call macros, so
  models/features/_features__models.yml writes the same rule with var(), and the customer_labels
  contract fails the build if the two ever disagree.
#}
{% macro label_column() %}
    {{ return('purchased_next_' ~ positive_int_var('label_window_days', 366) ~ 'd') }}
{% endmacro %}

{#
  The label rule, its one owner in SQL: a customer is a buyer as of date d when
  they ordered at least once in [d, d + label_window_days). The window is
  observed once its end is on or before the scoring date.
  label_window_end(d)            the first day after the window
  in_label_window(event_at, d)   the event falls in the window
  label_window_is_observed(d, scoring_date)
  Python's counterpart: segment_and_predict.ml.labels (the backtest's labels).
#}
{% macro label_window_end(as_of_date) -%}
    ({{ as_of_date }} + {{ positive_int_var('label_window_days', 366) }})
{%- endmacro %}

{% macro in_label_window(event_at, as_of_date) -%}
    ({{ event_at }} >= {{ as_of_date }} and {{ event_at }} < {{ label_window_end(as_of_date) }})
{%- endmacro %}

{% macro label_window_is_observed(as_of_date, scoring_date) -%}
    ({{ label_window_end(as_of_date) }} <= {{ scoring_date }})
{%- endmacro %}
