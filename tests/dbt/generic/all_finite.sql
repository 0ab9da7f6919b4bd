{#
  Every floating-point column of the model holds only finite numbers (or null):
  one row per column with NaN, +inf or -inf, naming the column and how many rows.
  The columns are read from the built relation, so a feature or score added
  later is covered without listing it. Integer and decimal columns cannot hold
  non-finite values.
#}
{% test all_finite(model) %}
    {%- set checked = [] -%}
    {%- if execute -%}
        {#- described as a query: the model may be a subquery of the rows under test
            (macros/test_scope.sql) -#}
        {%- for column in run_query('describe select * from ' ~ model) -%}
            {%- if column[1] | upper in ('DOUBLE', 'FLOAT', 'REAL', 'FLOAT4', 'FLOAT8') -%}
                {%- do checked.append(column[0]) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- for column_name in checked %}
        select
            '{{ column_name }}' as column_name,
            count(*) as non_finite_rows
        from {{ model }}
        where not isfinite("{{ column_name }}")
        having count(*) > 0
        {% if not loop.last %}union all{% endif %}
    {%- else %}
        select cast(null as varchar) as column_name, 0 as non_finite_rows where false
    {%- endfor %}
{% endtest %}
