{#
  on-run-end: when this run built model_gate_checks, print one plain line per
  failed quality-gate check (model kind, metric, value, threshold, the var that
  sets it, and the model that keeps serving), so the end of the build output
  says why the gate test failed. The sentences are written by the view itself
  (models/ml/serving/model_gate_checks.sql); the CLI prints the same ones.
#}
{% macro report_quality_gates(results) %}
    {%- if not execute or flags.WHICH not in ('build', 'run') -%}
        {{ return('') }}
    {%- endif -%}
    {%- for result in results -%}
        {%- if result.node.name == 'model_gate_checks' and result.status == 'success' -%}
            {%- set failed = run_query(
                'select message from ' ~ result.node.relation_name
                ~ ' where not passed order by model_kind, check_order'
            ) -%}
            {%- for row in failed.rows -%}
                {{ log(row[0], info=True) }}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return('') }}
{% endmacro %}
