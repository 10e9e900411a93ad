{# Expressions shared by the chunk queries (`d` = draws, `m` = merchants). #}
{% macro amount(realism) -%}
{% if realism == "v2" %}
round(greatest(d.amount_raw * m.amount_scale, 0.01), 2)
{%- else %}
round(d.amount_raw, 2)
{%- endif %}
{%- endmacro %}
