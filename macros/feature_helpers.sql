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
