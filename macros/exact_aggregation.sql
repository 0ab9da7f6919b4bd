{#-
    Amounts (money, durations) as exact decimals, for sums and averages that
    do not depend on the order rows are added in.

    DuckDB aggregates in parallel and combines partial sums in whatever order
    its threads finish, so a sum of doubles can differ in its last bits from
    one build to the next; LightGBM's split points and the baselines then
    follow those bits, and two builds of the same export trained different
    models. A sum of DECIMAL(38, 9) is integer arithmetic and exact in any
    order. Nine decimals keep every amount of up to nine decimals exact (cents
    and fractions of a second are), and 38 digits leave room for sums up to
    10^29. Cast the aggregate back to double where it leaves the model.
-#}
{% macro exact_decimal(expression) -%}
    cast({{ expression }} as decimal(38, 9))
{%- endmacro %}

{#-
    The most common non-null value of a column, ties broken by the smallest
    value. DuckDB's mode() returns any one of the tied values, whichever its
    threads saw first, so a segment with as many customers in two regions
    named one region in one build and the other in the next.
-#}
{% macro most_common(expression) -%}
    list_sort(
        list_transform(
            map_entries(histogram({{ expression }})),
            lambda entry: struct_pack(
                negative_count := -cast(struct_extract(entry, 'value') as bigint),
                value := struct_extract(entry, 'key')
            )
        )
    )[1]['value']
{%- endmacro %}
