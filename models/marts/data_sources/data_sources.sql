-- Which tables of the raw-data contract this build read: one row per table,
-- present (file with rows), empty (file without rows) or absent (no file),
-- and the customer_features columns each one feeds (meta.raw_table of each
-- feature in models/features/_features__models.yml). Features of an empty or
-- absent table are null in customer_features and the models leave them out.
-- The tables are the raw sources of models/staging/_raw__sources.yml, in their
-- order there (the contract's order, segment_and_predict/data/contract.py; a test
-- checks the two agree). row_count is what staging keeps, as raw_row_checks
-- counted it, so no staging view is read again here.
-- It is published with the features it describes: a build rejected before
-- customer_features (bad export, bad as_of_date) leaves the last good one.
-- depends_on: {{ ref('customer_features') }}
-- depends_on: {{ ref('raw_row_checks') }}
{%- set contract_tables = [] -%}
{%- if execute -%}
    {%- for node in graph.sources.values() if node.source_name == 'raw' -%}
        {%- do contract_tables.append(node.name) -%}
    {%- endfor -%}
{%- endif %}

with

{% for table_name in contract_tables %}
    {{ table_name }}_rows as (
        -- a sum of counts is HUGEINT in DuckDB (DECIMAL(38,0) in Parquet): BI tools
        -- read a row count as an ordinary BIGINT
        select cast(coalesce(sum(row_count), 0) as bigint) as row_count
        from {{ ref('raw_row_checks') }}
        where table_name = '{{ table_name }}' and rule is null
    ),

{% endfor %}
contract_tables as (
    {% for table_name in contract_tables %}
        {%- set node = raw_source_node(table_name) if execute else none %}
        {%- set meta = node.meta if node is not none else {} %}
        {%- set fed = features_fed_by(table_name) %}
        select
            '{{ table_name }}' as table_name,
            {{ loop.index }} as contract_position,
            {{ 'true' if meta.get('required') else 'false' }} as is_required,
            {{ 'true' if raw_table_exists(table_name) else 'false' }} as is_exported,
            '{{ raw_table_path(table_name) if execute else "" }}' as raw_file,
            '{{ fed | join(", ") }}' as feeds_features,
            {{ fed | length }} as feature_count,
            {{ table_name }}_rows.row_count
        from {{ table_name }}_rows
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select
        table_name,
        case
            when not is_exported then 'absent'
            when row_count = 0 then 'empty'
            else 'present'
        end as status,
        raw_file,
        feeds_features,
        contract_position,
        row_count,
        feature_count,
        is_required
    from contract_tables
)

select * from final
