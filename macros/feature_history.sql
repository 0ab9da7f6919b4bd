{#
  customer_features' history (var feature_history_days). The warehouse keeps the
  as_of dates of the last feature_history_days days before the scoring date; a
  run that does not train (the daily job) moves older dates to Parquet, one file
  per date, in <history folder>/customer_features/as_of_date=YYYY-MM-DD/rows.parquet,
  then deletes them from the table. A run that trains keeps every date it built
  (training reads them later in the run); the next daily job moves them.

  Why: every job copies the warehouse file (docs/operations.md), so a table that
  grew by a day of features every day made the daily job slower every day (at
  240K customers, 37 MiB and about 0.09 s a day; docs/performance.md).

  Nothing is lost: a date is deleted in the same transaction that wrote its file,
  after the file was written. A date written again (a failed run's copy was
  discarded, or an old date rebuilt with as_of_date) replaces its file. A date
  in both the table and the folder is the table's (docs/operations.md shows the
  query that reads the whole history).
#}
{% macro feature_history_dir() %}
    {#- $SAP_HISTORY_DIR, else the folder beside the warehouse file:
        warehouse/x.duckdb -> warehouse/x_history. The CLI always sets it (a job
        runs dbt on a working copy of the warehouse; segment_and_predict.dbt.history). -#}
    {%- set configured = env_var('SAP_HISTORY_DIR', '') -%}
    {%- if configured -%}
        {{ return(configured) }}
    {%- endif -%}
    {%- set path = target.path -%}
    {%- set stem = path[:-7] if path.endswith('.duckdb') else path -%}
    {{ return(stem ~ '_history') }}
{% endmacro %}


{% macro archive_feature_history() %}
    {%- if not execute or run_includes_training() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set keep_days = positive_int_var('feature_history_days') -%}
    {#- the run's scoring date; int_snapshot_dates is an ancestor of customer_features
        (through int_customer_snapshots), so it is built by now -#}
    {%- set snapshot_dates = graph.nodes['model.' ~ project_name ~ '.int_snapshot_dates'].relation_name -%}
    {%- set dates_query -%}
        select distinct strftime(as_of_date, '%Y-%m-%d')
        from {{ this }}
        where as_of_date < (
            select max(as_of_date) from {{ snapshot_dates }} where is_scoring_snapshot
        ) - {{ keep_days }}
        order by 1
    {%- endset -%}
    {%- set dates = run_query(dates_query).columns[0].values() -%}
    {%- if not dates -%}
        {{ return('') }}
    {%- endif -%}
    {%- set table_dir = feature_history_dir() ~ '/' ~ this.identifier -%}
    {%- set statements = [] -%}
    {%- for as_of_date in dates -%}
        {%- set date_dir = table_dir ~ '/as_of_date=' ~ as_of_date -%}
        {%- do statements.append(
            "select make_folder('" ~ date_dir | replace("'", "''") ~ "')"
        ) -%}
        {%- do statements.append(
            "copy (select * from " ~ this ~ " where as_of_date = date '" ~ as_of_date
            ~ "' order by customer_id) to '" ~ (date_dir ~ '/rows.parquet') | replace("'", "''")
            ~ "' (format parquet)"
        ) -%}
    {%- endfor -%}
    {%- do statements.append(
        "delete from " ~ this ~ " where as_of_date in (date '" ~ dates | join("', date '") ~ "')"
    ) -%}
    {{ return(statements | join(';\n')) }}
{% endmacro %}
