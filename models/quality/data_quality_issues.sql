{#
  Rows of the raw export that staging left out, counted per table, rule and
  column. Read from raw_row_checks, which counts every raw row under the first
  rule it breaks from raw_quarantined_rows, the rows every staging view leaves
  out, so the counts are exactly what staging excluded. One row per
  (table, rule, column) with at least one quarantined row; no rows = a clean
  export.
#}
with

row_checks as (
    select * from {{ ref('raw_row_checks') }}
),

counted as (
    select
        table_name,
        rule,
        column_name,
        row_count as rows_quarantined,
        cast(sum(row_count) over (partition by table_name) as bigint) as rows_in_table,
        example_key
    from row_checks
),

final as (
    select
        table_name,
        rule,
        column_name,
        rows_quarantined,
        rows_in_table,
        rows_quarantined / rows_in_table as quarantined_share,
        example_key,
        {{ raw_load_date_literal() }} as load_date,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as checked_at
    from counted
    where rule is not null
)

select * from final
