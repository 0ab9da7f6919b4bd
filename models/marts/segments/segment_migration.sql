-- How many customers moved from each segment to each other between the
-- scoring date (int_scoring_date) and the assignment date before it (the same
-- customer on both dates).
with

customer_segments as (
    select * from {{ ref('customer_segments') }}
),

scoring_date as (
    select * from {{ ref('int_scoring_date') }}
),

latest_dates as (
    select
        scoring_date.as_of_date as to_date,
        (
            select max(customer_segments.as_of_date)
            from customer_segments
            where customer_segments.as_of_date < scoring_date.as_of_date
        ) as from_date
    from scoring_date
),

movements as (
    select
        previous_segments.segment_id as from_segment_id,
        previous_segments.segment_name as from_segment_name,
        current_segments.segment_id as to_segment_id,
        current_segments.segment_name as to_segment_name,
        latest_dates.from_date,
        latest_dates.to_date
    from latest_dates
    inner join customer_segments as current_segments
        on latest_dates.to_date = current_segments.as_of_date
    inner join customer_segments as previous_segments
        on
            latest_dates.from_date = previous_segments.as_of_date
            and current_segments.customer_id = previous_segments.customer_id
),

final as (
    select
        from_segment_id,
        from_segment_name,
        to_segment_id,
        to_segment_name,
        count(*) as customers,
        from_segment_id = to_segment_id as is_same_segment,
        from_date,
        to_date
    from movements
    group by all
)

select * from final
