{#
  Drift gate on a monitoring table: rows of today's scoring date whose PSI
  column is above the warn or fail threshold (level: warn | fail; vars
  monitoring_psi_warn / monitoring_psi_fail). Today's date is the as_of_date
  var, or with 'default' the newest date in the table (the run just wrote it).
  It is not read from int_snapshot_dates: a ref there would select these tests
  in any run that builds int_snapshot_dates without the monitoring tables.
  Earlier dates stay in the table for history and are not tested again.
  Pair a level=warn instance (severity warn) with a level=fail one (error).
#}
{% test psi_within_threshold(model, column_name, level) %}
    {%- set threshold = monitoring_psi_thresholds()[level] -%}
    {%- set scoring_date = scoring_as_of_date_literal() -%}
    select
        {{ threshold }} as psi_threshold,
        *
    from {{ model }}
    where
        as_of_date = {{ scoring_date or '(select max(as_of_date) from ' ~ model ~ ')' }}
        and {{ column_name }} > {{ threshold }}
{% endtest %}
