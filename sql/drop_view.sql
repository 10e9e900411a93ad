DROP VIEW IF EXISTS {{ view | ident }};
