-- The label: did the customer order at least once in
-- [as_of_date, as_of_date + label_window_days)? Null when that window is not
-- fully observed in the data. The only model that reads orders at or after
-- the as_of date. The column is named for the window (label_column():
-- purchased_next_30d by default).
with

orders as (
    select * from {{ ref('stg_orders') }}
),

customer_snapshots as (
    select * from {{ ref('int_customer_snapshots') }}
),

snapshot_dates as (
    select * from {{ ref('int_snapshot_dates') }}
),

orders_in_label_window as (
    select
        orders.customer_id,
        snapshot_dates.as_of_date,
        min(orders.ordered_at) as first_label_order_at
    from orders
    inner join snapshot_dates
        on {{ in_label_window('orders.ordered_at', 'snapshot_dates.as_of_date') }}
    where snapshot_dates.is_label_observed
    group by orders.customer_id, snapshot_dates.as_of_date
),

final as (
    select
        customer_snapshots.customer_id,
        customer_snapshots.as_of_date,
        snapshot_dates.label_window_end_date,
        case
            when snapshot_dates.is_label_observed
                then orders_in_label_window.customer_id is not null
        end as {{ label_column() }},
        orders_in_label_window.first_label_order_at
    from customer_snapshots
    inner join snapshot_dates
        on customer_snapshots.as_of_date = snapshot_dates.as_of_date
    left join orders_in_label_window
        on
            customer_snapshots.customer_id = orders_in_label_window.customer_id
            and customer_snapshots.as_of_date = orders_in_label_window.as_of_date
)

select * from final
