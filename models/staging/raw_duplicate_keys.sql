{{ config(materialized='table', post_hook="{{ insert_raw_duplicate_keys() }}") }}
{#
  Primary keys that occur more than once in a raw table, as text (key columns
  joined by '|') and as the hash of the key columns as exported. Computed once
  per build so that the quarantine (macros/quarantine.sql) looks row by row only
  at these keys: without it every read of a staging view would group the whole
  raw table again. The quarantine matches rows by key_hash (an integer: no key
  is turned into text on the way), then tells keys apart by their columns.

  One statement per raw table: this model's select is the first keyed table's
  keys, its post-hook inserts the others' (raw_duplicate_keys_select,
  macros/duplicate_keys.sql). As one union of all tables, DuckDB held every
  table's sort at once: 6.0 GiB at 2.4M customers (107M sessions, 109M messages)
  against 2.7 GiB one table at a time, in the same time (docs/performance.md).
#}
{%- set keyed_tables = raw_keyed_tables() %}

{% if keyed_tables -%}
    {{ raw_duplicate_keys_select(keyed_tables[0]) }}
{%- else -%}
    select
        cast(null as varchar) as table_name,
        cast(null as varchar) as key_text,
        cast(null as ubigint) as key_hash,
        cast(null as bigint) as copies
    where false
{%- endif %}
