-- The run's scoring date (var as_of_date, else the day after the last event):
-- the one date the daily tables are built for. Every mart that shows "today"
-- (the activation list, the segment profiles and migration, realised
-- performance) reads it here, so a backfill of an older date after a newer
-- one shows that date everywhere, as the scores and segments do.
with

snapshot_dates as (
    select * from {{ ref('int_snapshot_dates') }}
),

final as (
    select as_of_date
    from snapshot_dates
    where is_scoring_snapshot
)

select * from final
