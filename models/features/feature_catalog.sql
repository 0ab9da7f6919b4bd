-- The feature dictionary: one row per feature column of customer_features, as its
-- YAML declares it (models/features/_features__models.yml, the one owner): its
-- type, raw table, description, and how the segmenter uses it (meta.segmenter,
-- null for a column it leaves out). The segmenter's training reads its inputs
-- from here, so adding meta.segmenter to a column is all it takes to cluster on it.
-- Read from dbt's graph at run time (nothing to render at parse time).
-- depends_on: {{ ref('customer_features') }}
{%- set features = [] %}
{%- if execute %}
    {%- set node = graph.nodes['model.' ~ project_name ~ '.customer_features'] %}
    {%- for column in node.columns.values() if column.name not in ['customer_id', 'as_of_date'] %}
        {%- do features.append(column) %}
    {%- endfor %}
{%- endif %}

with

declared as (
    select
        cast(null as integer) as column_position,
        cast(null as varchar) as feature,
        cast(null as varchar) as data_type,
        cast(null as varchar) as raw_table,
        cast(null as varchar) as description,
        cast(null as varchar) as segmenter_json
    where false
    {%- for column in features %}
        union all
        select
            {{ loop.index }} as column_position,
            '{{ column.name }}' as feature,
            '{{ column.data_type }}' as data_type,
            '{{ column.meta.get("raw_table") }}' as raw_table,
            '{{ (column.description or "") | replace("'", "''") }}' as description,
            {% if column.meta.get('segmenter') is not none -%}
                '{{ tojson(column.meta.get("segmenter"), sort_keys=true) }}'
            {%- else -%}
                null
            {%- endif %} as segmenter_json
    {%- endfor %}
),

final as (
    select
        column_position,
        feature,
        data_type,
        raw_table,
        description,
        segmenter_json
    from declared
)

select * from final
