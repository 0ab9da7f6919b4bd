{#
  A count from an optional source: 0 when the source was exported and the
  customer simply had no such event, null when the source is absent or empty
  (we do not know, so we do not pretend it was zero).
#}
{% macro count_from_source(column, source_has_rows) -%}
    {%- if source_has_rows -%}
        coalesce({{ column }}, 0)
    {%- else -%}
        cast(null as bigint)
    {%- endif -%}
{%- endmacro %}

{#
  The category groups that get a share_spend_<group> feature: the groups of the
  product_category_groups seed plus "other" (categories the seed does not map).
  Their one owner; a dbt test checks the seed names no group outside the list.
#}
{% macro category_groups() -%}
    {{ return(['electronics', 'home', 'fashion', 'beauty', 'sports', 'grocery', 'other']) }}
{%- endmacro %}

{#
  The feature columns of customer_features, one owner: the model's YAML. Each
  column declared there (but the keys) is selected, in the YAML's order, as its
  meta says:
    computed_in  the CTE of customer_features (one per intermediate model) that
                 holds a column of the same name;
    sql          an expression over those CTEs instead (a ratio, a difference);
    fill         the value when the customer had no such event (an SQL literal,
                 e.g. "0"), only when the raw table has rows;
    raw_table    the raw table it is computed from (data_sources lists it there).
                 When that table is absent or empty the column is null, cast to
                 its data_type: we do not know, so we do not pretend it was zero.
  Adding a feature is its YAML entry (plus its computation in an intermediate
  model); the contract fails the build if the two disagree on type.
#}
{% macro feature_columns_select(model_node, keys=['customer_id', 'as_of_date']) -%}
    {%- set has_rows = {} -%}
    {%- set selected = [] -%}
    {%- for column in model_node.columns.values() if column.name not in keys -%}
        {%- set meta = column.meta or {} -%}
        {%- if not meta.get('raw_table') or not (meta.get('computed_in') or meta.get('sql')) -%}
            {{ exceptions.raise_compiler_error(
                model_node.name ~ "." ~ column.name ~ ": a feature column needs meta.raw_table and"
                ~ " meta.computed_in (or meta.sql) in its YAML (macros/feature_helpers.sql)"
            ) }}
        {%- endif -%}
        {%- if meta.raw_table not in has_rows -%}
            {%- do raw_source_node(meta.raw_table) -%}  {#- fails on a table the contract lacks #}
            {%- do has_rows.update({meta.raw_table: raw_table_has_rows(meta.raw_table)}) -%}
        {%- endif -%}
        {%- if not has_rows[meta.raw_table] -%}
            {%- set expression = 'cast(null as ' ~ column.data_type ~ ')' -%}
        {%- else -%}
            {%- set expression = meta.get('sql') or (meta.computed_in ~ '.' ~ column.name) -%}
            {%- if meta.get('fill') is not none -%}
                {%- set expression = 'coalesce(' ~ expression ~ ', ' ~ meta.fill ~ ')' -%}
            {%- endif -%}
        {%- endif -%}
        {%- do selected.append(expression ~ ' as ' ~ column.name) -%}
    {%- endfor -%}
    {{ return(selected) }}
{%- endmacro %}


{#
  The customer_features columns computed from a raw table (meta.raw_table in the
  features YAML), in the YAML's order: what data_sources says the table feeds.
#}
{% macro features_fed_by(table_name) -%}
    {%- set fed = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values()
            if node.resource_type == 'model' and node.name == 'customer_features' -%}
            {%- for column in node.columns.values()
                if (column.meta or {}).get('raw_table') == table_name -%}
                {%- do fed.append(column.name) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(fed) }}
{%- endmacro %}
