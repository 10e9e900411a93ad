SELECT * FROM {{ table | ident }}
