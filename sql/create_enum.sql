-- One ENUM type per small vocabulary; $values is the list of its labels, in order.
CREATE TYPE {{ name | ident }} AS ENUM (SELECT unnest($values::VARCHAR[]));
