{#
  Drift gate on a monitoring table: rows of today's scoring date
  (int_snapshot_dates) whose PSI column is above the warn or fail threshold
  (level: warn | fail; vars monitoring_psi_warn / monitoring_psi_fail).
  Earlier dates stay in the table for history and are not tested again.
  Pair a level=warn instance (severity warn) with a level=fail one (error).
#}
{% test psi_within_threshold(model, column_name, level) %}
    {%- set threshold = monitoring_psi_thresholds()[level] -%}
    select
        {{ threshold }} as psi_threshold,
        *
    from {{ model }}
    where
        as_of_date in (
            select scoring_dates.as_of_date
            from {{ ref('int_snapshot_dates') }} as scoring_dates
            where scoring_dates.is_scoring_snapshot
        )
        and {{ column_name }} > {{ threshold }}
{% endtest %}
