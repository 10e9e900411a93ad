{# Expressions shared by the chunk queries (`d` = draws, `m` = merchants). v3 draws
   carry the amount made in numpy: `amount` in the merchant's currency, already on
   price points and minor units, and `amount_base` in EUR (what the logit scores). #}
{% macro amount(realism, base=false) -%}
{% if realism == "v3" and base %}
d.amount_base
{%- elif realism == "v3" %}
d.amount
{%- elif realism == "v2" %}
round(greatest(d.amount_raw * m.amount_scale, 0.01), 2)
{%- else %}
round(d.amount_raw, 2)
{%- endif %}
{%- endmacro %}
