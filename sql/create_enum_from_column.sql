-- An ENUM whose labels are a column's values (unique), in a stable order.
CREATE TYPE {{ name | ident }} AS ENUM (
    SELECT {{ column | ident }} FROM {{ source | ident }} ORDER BY {{ order_by | ident }}
);
