{{ config(materialized='table', post_hook="{{ insert_raw_quarantined_rows() }}") }}
-- depends_on: {{ ref('raw_duplicate_keys') }}
{#
  Every raw row that breaks a quarantine rule (macros/quarantine.sql), by its
  place in the export (file_index, file_row_number), with the first rule it
  breaks. The rules are evaluated here once per build; every staging view is
  the raw rows minus these (staged_raw_source), and raw_row_checks counts them.
  Empty for a clean export.

  One statement per raw table, parents first: this model's select is the first
  table's rows (customers, which has no parents), its post-hook inserts the
  others', so an order is checked against the customers this table has already
  decided on, a line against the orders; and one statement at a time holds one
  table's joins (as raw_duplicate_keys does its sorts).
#}
{%- set tables = raw_tables_parents_first() %}

{% if tables -%}
    {{ raw_quarantined_rows_select(tables[0]) }}
{%- else -%}
    select
        cast(null as varchar) as table_name,
        cast(null as ubigint) as file_index,
        cast(null as bigint) as file_row_number,
        cast(null as varchar) as rule,
        cast(null as varchar) as column_name,
        cast(null as varchar) as example_key,
        cast(null as timestamp) as event_at
    where false
{%- endif %}
