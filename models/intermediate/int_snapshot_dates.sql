{#
  The as_of dates features are built for: the scoring date, and, in a run that
  trains (a model tagged "training" is selected), training snapshots every
  snapshot_interval_days back from the latest date whose label window has
  closed by the scoring date. One row per date; a date can be both.

  The scoring date (var as_of_date) anchors every date: a label window counts
  as observed only when it ends on or before the scoring date, so training,
  validation, test, threshold, gates and every figure derived from labels use
  orders strictly before as_of_date, as a build on the export cut at that date
  would (tests/integration/test_as_of_pipeline.py). With the default as_of_date (the
  day after the last event) this is the end of the data, as before.

  An explicit as_of_date outside the data stops the build here with a plain
  error (after the first sign-up, at most the day after the last event).
  Runs after the data-quality gate, so nothing is built from a broken export.
#}
{%- set scoring_literal = scoring_as_of_date_literal() -%}
{%- set snapshot_count = positive_int_var('training_snapshot_count', 120) -%}
{%- set snapshot_count = snapshot_count if run_includes_training() else 0 -%}
{%- set interval_days = positive_int_var('snapshot_interval_days', 366) -%}
{%- set label_days = positive_int_var('label_window_days', 366) -%}
{%- set backtest_dates = backtest_label_dates_literals() %}
-- depends_on: {{ ref('data_quality_issues') }}

with

row_checks as (
    select * from {{ ref('raw_row_checks') }}
),

customers as (
    select * from {{ ref('stg_customers') }}
),

event_timestamps as (
    -- the latest event staging kept, of the tables whose events features count
    select max(last_event_at) as last_event_at
    from row_checks
    where
        rule is null
        and table_name in (
            'orders', 'sessions', 'marketing_messages', 'support_tickets', 'returns'
        )
),

bounds as (
    select
        cast(max(last_event_at) as date) as last_observed_date,
        {{ scoring_literal or 'cast(max(last_event_at) as date) + 1' }} as scoring_as_of_date,
        -- the label window [d, d + label_days) is observed when it ends by the
        -- scoring date (at most the day after the last event): no label ever
        -- counts an order at or after as_of_date
        {{ scoring_literal or 'cast(max(last_event_at) as date) + 1' }} - {{ label_days }}
            as latest_labelled_as_of_date,
        (select cast(min(customers.signed_up_at) as date) from customers) as first_signup_date
    from event_timestamps
),

checked_bounds as (
    select * from bounds
    where
        case
            when scoring_as_of_date > last_observed_date + 1
                then error(
                    'The var as_of_date (' || scoring_as_of_date || ') is after the data: the '
                    || 'last event in the raw export is on ' || last_observed_date
                    || ', so the latest date that can be scored is ' || (last_observed_date + 1)
                    || '. The build stopped before any feature, model or score changed '
                    || '(docs/bad_inputs.md).'
                )
            when scoring_as_of_date <= first_signup_date
                then error(
                    'The var as_of_date (' || scoring_as_of_date || ') is before the data: the '
                    || 'first customer signed up on ' || first_signup_date
                    || ', so there is nobody to score. The build stopped before any feature, '
                    || 'model or score changed (docs/bad_inputs.md).'
                )
            else true
        end
),

training_dates as (
    select
        checked_bounds.latest_labelled_as_of_date
        - cast(snapshots.snapshot_index * {{ interval_days }} as integer) as as_of_date
    from checked_bounds
    cross join range({{ snapshot_count }}) as snapshots (snapshot_index)
),

all_dates as (
    select
        as_of_date,
        false as is_scoring_snapshot,
        true as is_training_snapshot
    from training_dates
    union all
    select
        scoring_as_of_date as as_of_date,
        true as is_scoring_snapshot,
        false as is_training_snapshot
    from checked_bounds
    {%- for backtest_date in backtest_dates %}
    union all
    -- a walk-forward backtest date (var backtest_label_dates): only its label is needed
    select
        {{ backtest_date }} as as_of_date,
        false as is_scoring_snapshot,
        false as is_training_snapshot
    {%- endfor %}
),

final as (
    select
        all_dates.as_of_date,
        bool_or(all_dates.is_scoring_snapshot) as is_scoring_snapshot,
        bool_or(all_dates.is_training_snapshot) as is_training_snapshot,
        {{ label_window_is_observed(
            'all_dates.as_of_date', 'any_value(checked_bounds.scoring_as_of_date)'
        ) }} as is_label_observed,
        {{ label_window_end('all_dates.as_of_date') }} as label_window_end_date,
        any_value(checked_bounds.last_observed_date) as last_observed_date
    from all_dates
    cross join checked_bounds
    group by all_dates.as_of_date
)

select * from final
