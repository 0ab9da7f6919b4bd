{#
  The PSI thresholds of the monitoring tests (vars monitoring_psi_warn and
  monitoring_psi_fail), validated: numbers above 0, warn below fail. Returns
  {'warn': <number>, 'fail': <number>} or stops with a message naming the var.
#}
{% macro monitoring_psi_thresholds() %}
    {%- set thresholds = {} -%}
    {%- for level, value in [
        ('warn', var('monitoring_psi_warn')), ('fail', var('monitoring_psi_fail'))] -%}
        {%- set name = 'monitoring_psi_' ~ level -%}
        {%- set value = value | string | trim -%}
        {%- if not modules.re.match('^[0-9]*\.?[0-9]+$', value) or value | float <= 0 -%}
            {{ exceptions.raise_compiler_error(
                "The var " ~ name ~ " must be a number above 0 (a PSI, e.g. 0.1); got: '"
                ~ value ~ "'"
            ) }}
        {%- endif -%}
        {%- do thresholds.update({level: value | float}) -%}
    {%- endfor -%}
    {%- if thresholds['warn'] >= thresholds['fail'] -%}
        {{ exceptions.raise_compiler_error(
            "The var monitoring_psi_warn (" ~ thresholds['warn'] ~ ") must be below "
            ~ "monitoring_psi_fail (" ~ thresholds['fail'] ~ ")"
        ) }}
    {%- endif -%}
    {{ return(thresholds) }}
{% endmacro %}
