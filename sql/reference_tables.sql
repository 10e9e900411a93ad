-- Reference vocabularies as small tables joined by the chunk query.
CREATE OR REPLACE TABLE countries AS SELECT * FROM countries_src;
CREATE OR REPLACE TABLE mccs AS SELECT * FROM mccs_src;
