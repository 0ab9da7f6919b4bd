-- Share of spend by category group per customer and as_of date, from order
-- lines of orders placed strictly before the date within the look-back.
-- Categories missing from the product_category_groups seed count as "other".
{%- set lookback_days = positive_int_var('feature_lookback_days', 3660) %}
{#- One share_spend_<group> column each (category_groups(): the seed's groups plus "other"). -#}
{%- set category_groups = category_groups() %}

with

order_lines as (
    select * from {{ ref('stg_order_lines') }}
),

orders as (
    select * from {{ ref('stg_orders') }}
),

category_groups as (
    select * from {{ ref('product_category_groups') }}
),

snapshot_dates as (
    select as_of_date from {{ ref('int_snapshot_dates') }}
),

lines_with_group as (
    select
        orders.customer_id,
        orders.ordered_at,
        order_lines.line_total,
        coalesce(category_groups.category_group, 'other') as category_group
    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id
    left join category_groups
        on order_lines.product_category = category_groups.product_category
),

lines_before_snapshot as (
    select
        lines_with_group.customer_id,
        snapshot_dates.as_of_date,
        lines_with_group.category_group,
        {{ exact_decimal('lines_with_group.line_total') }} as line_total,
        lines_with_group.ordered_at
    from lines_with_group
    inner join snapshot_dates
        on
            lines_with_group.ordered_at < snapshot_dates.as_of_date
            and lines_with_group.ordered_at >= snapshot_dates.as_of_date - {{ lookback_days }}
),

final as (
    select
        customer_id,
        as_of_date,
        {%- for category_group in category_groups %}
            cast(
                coalesce(sum(line_total) filter (where category_group = '{{ category_group }}'), 0)
                as double
            )
            / cast(nullif(sum(line_total), 0) as double) as share_spend_{{ category_group }},
        {%- endfor %}
        max(ordered_at) as latest_event_at
    from lines_before_snapshot
    group by customer_id, as_of_date
)

select * from final
