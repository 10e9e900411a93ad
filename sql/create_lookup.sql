-- A small lookup table from integer codes to values (ENUM labels included), built once
-- per process from the Arrow view `source`. Chunks hash-join their codes to it, which
-- costs far less than casting strings to ENUM row by row.
CREATE TABLE {{ table | ident }} AS
SELECT
{% for name, type in columns %}
    CAST({{ name | ident }} AS {{ type | ident }}) AS {{ name | ident }}{{ "," if not loop.last }}
{% endfor %}
FROM {{ source | ident }};
