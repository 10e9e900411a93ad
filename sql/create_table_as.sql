-- A temporary table holding a query's rows (the query is one of sqlgen's own templates).
CREATE OR REPLACE TEMP TABLE {{ table | ident }} AS
{{ query }}
