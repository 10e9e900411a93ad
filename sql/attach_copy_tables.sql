ATTACH {{ path | literal }} AS target;
{% for table in tables %}
CREATE OR REPLACE TABLE target.{{ table | ident }} AS SELECT * FROM {{ table | ident }};
{% endfor %}
DETACH target;
