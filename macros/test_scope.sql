{#
  The rows a generic data test reads (dbt calls get_where_subquery for each one).
  A test of an incremental model that rebuilds whole as_of dates (unique_key
  as_of_date, delete+insert: customer_features, propensity_scores,
  customer_segments) reads the rows of the as_of dates this run built
  (int_snapshot_dates): the daily job tests the day it wrote, not again every
  earlier day (tested when it was written, and untouched since), so a test's cost
  follows the day's rows, not the table's history; the full build tests every
  date it built. A test's own where config still applies. Everything else is
  dbt's default (the relation, or the subquery of its where).
#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set built_dates = as_of_dates_built_this_run_condition(model) -%}
    {%- if built_dates -%}
        {%- do conditions.append(built_dates) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}


{# "as_of_date in (this run's dates)" for a test of a model rebuilt by whole as_of dates, else none. #}
{% macro as_of_dates_built_this_run_condition(test_node) -%}
    {%- if not execute -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set tested = graph.nodes.get(test_node.get('attached_node') or '') -%}
    {%- if not tested -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set config = tested.config -%}
    {%- if config.materialized != 'incremental' or config.get('unique_key') != 'as_of_date'
        or config.get('incremental_strategy') != 'delete+insert' -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set dates = graph.nodes['model.' ~ project_name ~ '.int_snapshot_dates'] -%}
    {%- do return('as_of_date in (select as_of_date from ' ~ dates.relation_name ~ ')') -%}
{%- endmacro %}
