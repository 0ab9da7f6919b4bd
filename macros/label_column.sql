{#
  The label's column name, from the label window: by default purchased_next_30d
  (label_window_days 30), purchased_next_7d with 7. The one place SQL
  gets it. Python gets it from segment_and_predict.labels.label_column (same
  rule, var passed through model config); YAML cannot call macros, so
  _marts__models.yml writes the same rule with var(), and the customer_features
  contract fails the build if the two ever disagree.
#}
{% macro label_column() %}
    {{ return('purchased_next_' ~ positive_int_var('label_window_days', 366) ~ 'd') }}
{% endmacro %}
