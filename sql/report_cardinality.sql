SELECT approx_count_distinct({{ column | ident }}), count(*) FROM payments;
