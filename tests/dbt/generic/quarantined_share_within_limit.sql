{#
  The data-quality gate: stops the build (one runtime error naming every raw
  table over the limit, with its rules and counts) when more than var
  data_quality_max_quarantined_share of a raw table's rows were quarantined. A
  few bad rows are left out and counted; an export that lost or mangled a large
  part of a table is broken, and scoring on what is left would silently shrink
  every campaign.
#}
{% test quarantined_share_within_limit(model) %}
    {%- set limit = max_quarantined_share() -%}
    with

    per_table as (
        select
            table_name,
            max(rows_in_table) as rows_in_table,
            sum(rows_quarantined) as rows_quarantined,
            string_agg(
                rule || ' on ' || column_name || ': ' || rows_quarantined || ' rows, e.g. key '
                || coalesce(example_key, 'none'),
                '; ' order by rows_quarantined desc, rule asc
            ) as breakdown
        from {{ model }}
        group by table_name
    ),

    over_limit as (
        select
            count(*) as tables_over_limit,
            string_agg(
                'Raw table ''' || table_name || ''': ' || rows_quarantined || ' of '
                || rows_in_table || ' rows ('
                || round(100.0 * rows_quarantined / rows_in_table, 1)
                || '%) were quarantined (' || breakdown || ').',
                ' ' order by table_name
            ) as tables
        from per_table
        where rows_quarantined > {{ limit }} * rows_in_table
    )

    select tables_over_limit
    from over_limit
    where
        case
            when tables_over_limit > 0
                then error(
                    tables || ' That is more than the var data_quality_max_quarantined_share = '
                    || '{{ limit }}: the export looks broken, so the build stopped before any '
                    || 'feature, model or score changed. The counts are in the table '
                    || 'data_quality_issues (docs/bad_inputs.md).'
                )
            else false
        end
{% endtest %}
