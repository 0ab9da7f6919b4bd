{#
  Row-level quarantine of the raw export: the one place where bad rows are
  recognised. checked_raw_source(table) gives every raw row the first rule it
  breaks (quarantine_rule, null = kept). It is evaluated once per build, in
  raw_quarantined_rows (the quarantined rows, by their place in the export),
  and every read of a staging view is the raw rows minus those
  (staged_raw_source): the rules, the parent joins and the key hashes are not
  evaluated again on each read (at 2.4M customers reading stg_sessions took
  6.1 s that way, 3.5 s this way; docs/performance.md). raw_row_checks and
  data_quality_issues count from the same decisions. The rules come from the
  raw sources' YAML (models/staging/_raw__sources.yml):

    table meta primary_key          -> missing_value, duplicate_key, duplicate_row
    table meta foreign_keys         -> missing_value, unknown_<what> (checked against
                                       the *staged* parent, so the orders of a
                                       quarantined customer are quarantined too)
    table meta event_time           -> missing_value, dated_before_signup (tables
                                       with a customer_id foreign key),
                                       dated_after_load_date
    column data_type double/integer -> non_finite_value (NaN, +inf, -inf; checked
                                       before the column's own rule, since NaN > 0
                                       and inf > 0 are true in DuckDB)
    column meta quarantine_unless   -> {rule, valid_when}: a SQL predicate every
                                       kept row satisfies (null = not satisfied)
    column meta sane_range          -> beyond_sane_range: [min, max] every numeric
                                       column declares (docs/raw_data_contract.md);
                                       a value outside it is an export error
                                       (1e308 amounts would sum to inf)

  A row breaking several rules is counted once, under the first rule in the
  order above. What each rule means for a user: docs/bad_inputs.md.
#}
{% macro checked_raw_source(table_name, quarantined_rows) %}
    {#- quarantined_rows: the relation holding the decisions already taken for the
        table's parents (raw_quarantined_rows, which this feeds, table by table) -#}
    {%- if not execute -%}
        {%- do ref('raw_duplicate_keys') -%}
        {{ return(raw_source(table_name)) }}
    {%- endif -%}
    {%- set node = raw_source_node(table_name) -%}
    {%- set meta = node.meta -%}
    {%- set columns = node.columns.values() | map(attribute='name') | list -%}
    {%- set key = meta.get('primary_key', []) -%}
    {%- set foreign_keys = meta.get('foreign_keys', []) -%}
    {%- set event_time = meta.get('event_time') -%}
    {%- set signup_parent = foreign_keys | selectattr('table', 'equalto', 'customers') | list -%}
    {#- (rule, column, condition that breaks it), in the order rules are checked -#}
    {%- set rules = [] -%}
    {%- set required_columns = key + (foreign_keys | map(attribute='column') | list)
        + ([event_time] if event_time else []) -%}
    {%- for column in required_columns | unique -%}
        {%- do rules.append(('missing_value', column, 'source.' ~ column ~ ' is null')) -%}
    {%- endfor -%}
    {%- if key -%}
        {%- do rules.append(('duplicate_key', key | join(', '), 'source._has_conflicting_copies')) -%}
        {%- do rules.append(('duplicate_row', key | join(', '), 'source._copy_number > 1')) -%}
    {%- endif -%}
    {%- for fk in foreign_keys -%}
        {%- do rules.append((
            fk.rule, fk.column, 'parent_' ~ loop.index ~ '.' ~ fk.column ~ ' is null'
        )) -%}
    {%- endfor -%}
    {%- set numeric_columns = raw_numeric_columns(node) -%}
    {%- for column in numeric_columns -%}
        {%- do rules.append((
            'non_finite_value', column.name,
            'not isfinite(cast(source.' ~ column.name ~ ' as double))'
        )) -%}
    {%- endfor -%}
    {%- for column in node.columns.values() if column.meta.get('quarantine_unless') -%}
        {%- set check = column.meta.quarantine_unless -%}
        {%- do rules.append((
            check.rule, column.name, 'not coalesce(' ~ check.valid_when ~ ', false)'
        )) -%}
    {%- endfor -%}
    {%- for column in numeric_columns -%}
        {%- set low, high = column.meta.sane_range -%}
        {%- do rules.append((
            'beyond_sane_range', column.name,
            'cast(source.' ~ column.name ~ ' as double) not between ' ~ low ~ ' and ' ~ high
        )) -%}
    {%- endfor -%}
    {%- if event_time and signup_parent -%}
        {%- set signup_index = foreign_keys.index(signup_parent[0]) + 1 -%}
        {%- do rules.append((
            'dated_before_signup', event_time,
            'cast(source.' ~ event_time ~ ' as date) < cast(parent_' ~ signup_index ~ '.signed_up_at as date)'
        )) -%}
    {%- endif -%}
    {%- if event_time -%}
        {%- do rules.append((
            'dated_after_load_date', event_time,
            'cast(source.' ~ event_time ~ ' as date) > ' ~ raw_load_date_literal()
        )) -%}
    {%- endif -%}
    (
        select
            checked.*,
            {#- the example key is text, so it is made only for quarantined rows -#}
            {%- if key %}
                case when checked.quarantine_rule is not null then concat_ws(', '
                    {%- for column in key %}, coalesce(cast(checked.{{ column }} as varchar), 'null'){% endfor -%}
                ) end as quarantine_example_key
            {%- else %}
                cast(null as varchar) as quarantine_example_key
            {%- endif %}
        from (
            select
                source.*,
                case
                    {%- for rule, column, condition in rules %}
                        when {{ condition }} then '{{ rule }}'
                    {%- endfor %}
                end as quarantine_rule,
                case
                    {%- for rule, column, condition in rules %}
                        when {{ condition }} then '{{ column }}'
                    {%- endfor %}
                end as quarantine_column
            from (
                {%- if key %}
                    {#- Keys that occur more than once are found once per build
                        (the table raw_duplicate_keys); only their rows are looked at
                        row by row here, so reading staging stays a scan. Rows are
                        matched to those keys by the hash of the key columns as
                        exported, and told apart by the columns themselves (a hash
                        collision only sends a row down the row-by-row path). -#}
                    with raw_rows as (
                        select
                            {{ columns | join(', ') }},
                            file_index,
                            file_row_number,
                            hash({{ key | join(', ') }}) as _key_hash
                        from {{ raw_rows_with_ids(table_name) }}
                    ),

                    keys_with_copies as (
                        select key_hash as _key_hash
                        from {{ ref('raw_duplicate_keys') }}
                        where table_name = '{{ table_name }}'
                    ),

                    copies as (
                        select
                            raw_rows.*,
                            hash({{ columns | join(', ') }}) as row_hash
                        from raw_rows
                        semi join keys_with_copies using (_key_hash)
                    )

                    select
                        raw_rows.*,
                        1 as _copy_number,
                        false as _has_conflicting_copies
                    from raw_rows
                    anti join keys_with_copies using (_key_hash)
                    union all
                    select
                        {{ columns | join(', ') }},
                        file_index,
                        file_row_number,
                        _key_hash,
                        {#- exact copies tie on row_hash: the first in the export is kept -#}
                        row_number() over (
                            partition by {{ key | join(', ') }}
                            order by row_hash, file_index, file_row_number
                        ) as _copy_number,
                        min(row_hash) over (partition by {{ key | join(', ') }})
                        <> max(row_hash) over (partition by {{ key | join(', ') }})
                            as _has_conflicting_copies
                    from copies
                {%- else %}
                    select * from {{ raw_rows_with_ids(table_name) }}
                {%- endif %}
            ) as source
            {%- for fk in foreign_keys %}
                {#- Compared as exported when the child and parent columns have the
                    same type (an integer join, no text per row); else as text, the
                    way staging writes ids. -#}
                {%- set join_type = raw_key_join_type(table_name, fk.table, fk.column) %}
                {# The staged parent: its raw rows the quarantine kept, with the
                    key as staging writes it (text) or, with a join type, as exported
                    (the same values: staging's text of an integer or text id cast
                    back is the exported value). -#}
                left join (
                    select
                        {% if join_type -%}
                            {{ fk.column }}
                        {%- else -%}
                            cast({{ fk.column }} as varchar) as {{ fk.column }}
                        {%- endif %}
                        {%- if fk.table == 'customers' %}, cast(signed_up_at as timestamp) as signed_up_at{% endif %}
                    from {{ staged_raw_source(fk.table, quarantined_rows) }}
                ) as parent_{{ loop.index }}
                    on {% if join_type %}source.{{ fk.column }}{% else %}cast(source.{{ fk.column }} as varchar){% endif %}
                    = parent_{{ loop.index }}.{{ fk.column }}
            {%- endfor %}
        ) as checked
    )
{% endmacro %}


{#
  The numeric columns of a raw table (contract data_type double or integer),
  each with the meta sane_range [min, max] its values must lie in. A numeric
  column without one is an error in the contract, stopped here at compile time.
#}
{% macro raw_numeric_columns(node) %}
    {%- set numeric = [] -%}
    {%- for column in node.columns.values() if column.data_type | lower in ('double', 'integer') -%}
        {%- set bounds = column.meta.get('sane_range') -%}
        {%- if not (bounds is sequence and bounds is not string and bounds | length == 2
                    and bounds[0] is number and bounds[1] is number) -%}
            {{ exceptions.raise_compiler_error(
                "Contract error in models/staging/_raw__sources.yml: the numeric column "
                ~ node.name ~ "." ~ column.name ~ " needs meta sane_range: [min, max] "
                ~ "(the values a real export can hold; docs/raw_data_contract.md)."
            ) }}
        {%- endif -%}
        {%- do numeric.append(column) -%}
    {%- endfor -%}
    {{ return(numeric) }}
{% endmacro %}


{#
  The type a foreign key is compared in: the exported type when the child's and
  the parent's columns have the same integer or text type (staging's text id
  cast back to it is the exported value, so the join matches exactly the rows
  the text comparison would), else none (compare as text).
#}
{% macro raw_key_join_type(child_table, parent_table, column_name) %}
    {%- set types = [] -%}
    {%- for table_name in [child_table, parent_table] -%}
        {%- set described = run_query(
            'select column_type from (describe select ' ~ column_name ~ ' from '
            ~ raw_source(table_name) ~ ')'
        ) -%}
        {%- do types.append(described.columns[0].values()[0] | string | upper) -%}
    {%- endfor -%}
    {%- set exact_types = [
        'VARCHAR', 'TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT',
        'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT',
    ] -%}
    {%- if types[0] == types[1] and types[0] in exact_types -%}
        {{ return(types[0]) }}
    {%- endif -%}
    {{ return(none) }}
{% endmacro %}


{# A table's primary key as one text (null when a key column is null). #}
{% macro raw_key_text(key_columns) -%}
    {%- for column in key_columns -%}
        cast({{ column }} as varchar){% if not loop.last %} || '|' || {% endif %}
    {%- endfor -%}
{%- endmacro %}


{#
  The load date: events dated after it cannot have happened yet and are
  quarantined (rule dated_after_load_date). var raw_load_date = 'default' means
  the day after the build runs (by the machine's clock; one day of slack so an
  export in a time zone ahead of the machine's is never cut).
#}
{% macro raw_load_date_literal() %}
    {%- set value = var('raw_load_date') | string | trim -%}
    {%- if value == 'default' -%}
        {%- set load_date = modules.datetime.date.today() + modules.datetime.timedelta(days=1) -%}
        {{ return("date '" ~ load_date.isoformat() ~ "'") }}
    {%- endif -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
        {{ exceptions.raise_compiler_error(
            "The var raw_load_date must be a date written YYYY-MM-DD (or 'default' for the day "
            ~ "after the build runs); got: '" ~ value ~ "'"
        ) }}
    {%- endif -%}
    {%- set year, month, day = value.split('-') | map('int') | list -%}
    {%- if not (1 <= year and 1 <= month <= 12 and 1 <= day <= days_in_month(year, month)) -%}
        {{ exceptions.raise_compiler_error(
            "The var raw_load_date is not a real calendar date: '" ~ value ~ "'"
        ) }}
    {%- endif -%}
    {{ return("date '" ~ value ~ "'") }}
{% endmacro %}


{#
  var data_quality_max_quarantined_share: the share of a raw table's rows that
  may be quarantined before the export counts as broken and the build stops.
#}
{% macro max_quarantined_share() %}
    {%- set value = var('data_quality_max_quarantined_share') | string | trim -%}
    {%- if not modules.re.match('^(0|1|0?[.][0-9]+|1[.]0*)$', value) -%}
        {{ exceptions.raise_compiler_error(
            "The var data_quality_max_quarantined_share must be a number from 0 to 1 (a share "
            ~ "of a table's rows, e.g. 0.05); got: '" ~ value ~ "'"
        ) }}
    {%- endif -%}
    {{ return(value | float) }}
{% endmacro %}


{#
  A raw table's rows with their place in the export: file_index (the file's
  position in raw_table_files' list) and file_row_number (the row's position in
  its file), DuckDB's virtual columns of read_parquet. The two identify a row
  within one build, which reads the same files throughout.
#}
{% macro raw_rows_with_ids(table_name) %}
    {%- if execute and raw_table_exists(table_name) -%}
        {{ return('(select *, file_index, file_row_number from ' ~ raw_table_read(table_name) ~ ')') }}
    {%- endif -%}
    {{ return(
        '(select *, cast(null as ubigint) as file_index, cast(null as bigint) as file_row_number from '
        ~ raw_source(table_name) ~ ' as stand_in)'
    ) }}
{% endmacro %}


{#
  The rows of a raw table the quarantine kept, as exported (plus file_index and
  file_row_number): the raw rows minus those in raw_quarantined_rows. What every
  staging view reads. quarantined_rows defaults to ref('raw_quarantined_rows');
  raw_quarantined_rows itself passes its own relation, filled parents first.
#}
{% macro staged_raw_source(table_name, quarantined_rows=none) %}
    {%- set decisions = quarantined_rows if quarantined_rows is not none else ref('raw_quarantined_rows') -%}
    {%- if not execute -%}
        {{ return(raw_source(table_name)) }}
    {%- endif -%}
    (
        select raw_rows.*
        from {{ raw_rows_with_ids(table_name) }} as raw_rows
        anti join (
            select file_index, file_row_number
            from {{ decisions }}
            where table_name = '{{ table_name }}'
        ) as quarantined
            using (file_index, file_row_number)
    )
{% endmacro %}


{#
  The raw sources in an order where each comes after the tables its foreign
  keys name (customers before orders before order_lines), by name otherwise:
  raw_quarantined_rows decides a table's rows once its parents' are decided.
#}
{% macro raw_tables_parents_first() %}
    {%- set pending = raw_source_nodes() -%}
    {%- set ordered = [] -%}
    {%- set placed = [] -%}
    {%- for _ in range(pending | length) -%}
        {%- for node in pending if node.name not in placed -%}
            {%- set parents = node.meta.get('foreign_keys', []) | map(attribute='table') | list -%}
            {%- if parents | reject('in', placed) | list | length == 0 -%}
                {%- do ordered.append(node) -%}
                {%- do placed.append(node.name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if ordered | length < pending | length -%}
        {{ exceptions.raise_compiler_error(
            "Contract error in models/staging/_raw__sources.yml: the foreign keys of "
            ~ (pending | map(attribute='name') | reject('in', placed) | join(', '))
            ~ " name a table that is not a raw source, or form a cycle."
        ) }}
    {%- endif -%}
    {{ return(ordered) }}
{% endmacro %}


{# One raw table's quarantined rows (raw_quarantined_rows' columns). #}
{% macro raw_quarantined_rows_select(node) %}
    {%- set event_time = node.meta.get('event_time') -%}
    select
        '{{ node.name }}' as table_name,
        file_index,
        file_row_number,
        quarantine_rule as rule,
        quarantine_column as column_name,
        quarantine_example_key as example_key,
        {% if event_time -%}
            cast({{ event_time }} as timestamp)
        {%- else -%}
            cast(null as timestamp)
        {%- endif %} as event_at
    from {{ checked_raw_source(node.name, this) }}
    where quarantine_rule is not null
{%- endmacro %}


{% macro insert_raw_quarantined_rows() %}
    {#- the post-hook: one insert per raw table after the first (the model's own select) -#}
    {%- set statements = [] -%}
    {%- for node in raw_tables_parents_first()[1:] -%}
        {%- do statements.append('insert into ' ~ this ~ '\n' ~ raw_quarantined_rows_select(node)) -%}
    {%- endfor -%}
    {{ return(statements | join(';\n')) }}
{% endmacro %}
