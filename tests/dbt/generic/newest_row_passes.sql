{#
  The quality gate: fails when the newest row (by order_by) breaks any check.
  checks maps a column to a SQL condition on it, e.g. {roc_auc: ">= 0.82"}.
  Returns one row per broken check, naming the column, so the failure says
  which threshold was missed.
#}
{% test newest_row_passes(model, order_by, checks) %}
    with newest as (
        select * from {{ model }}
        order by {{ order_by }} desc
        limit 1
    )
    {%- for column, condition in checks.items() %}
        select
            '{{ column }}' as failed_check,
            cast({{ column }} as varchar) as actual_value,
            '{{ condition }}' as required
        from newest
        where not coalesce({{ column }} {{ condition }}, false)
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{% endtest %}
