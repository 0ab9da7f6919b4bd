{#
  In a run that trains: at least min_snapshots as_of dates with labelled
  customers (train, validation and test are separate dates). Otherwise a
  runtime error that says what is missing stops the build before
  customer_features, the registries or the scores change, so the serving
  models keep serving. Runs without training pass.
#}
{% test enough_labelled_snapshots(model, min_snapshots) %}
    {%- set label_days = positive_int_var('label_window_days', 366) -%}
    {%- set interval_days = positive_int_var('snapshot_interval_days', 366) -%}
    with

    labelled as (
        select
            as_of_date,
            count(*) as customers
        from {{ model }}
        where {{ label_column() }} is not null
        group by as_of_date
    ),

    summary as (
        select
            count(*) as labelled_snapshots,
            coalesce(string_agg(cast(as_of_date as varchar), ', ' order by as_of_date), 'none')
                as dates
        from labelled
    )

    select labelled_snapshots
    from summary
    where
        {{ 'true' if run_includes_training() else 'false' }}
        and case
            when labelled_snapshots < {{ min_snapshots }}
                then error(
                    'Too few labelled snapshots to train the propensity model: it needs '
                    || '{{ min_snapshots }} as_of dates with customers whose next '
                    || '{{ label_days }} days are in the data, and found ' || labelled_snapshots
                    || ' (' || dates || '). Training needs customers and about '
                    || '{{ (min_snapshots - 1) * interval_days + label_days }} days of history '
                    || 'before the last event, and var training_snapshot_count >= '
                    || '{{ min_snapshots }}. The build stopped before any feature, model or score '
                    || 'changed; the serving models keep serving (score with `segment-and-predict '
                    || 'daily`).'
                )
            else false
        end
{% endtest %}
