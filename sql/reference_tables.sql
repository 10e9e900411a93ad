-- Reference vocabularies as small tables joined by the chunk query; codes are ENUMs so
-- joins against catalog columns compare integers.
CREATE OR REPLACE TABLE countries AS
SELECT * REPLACE (CAST(code AS country_enum) AS code, CAST(currency AS currency_enum) AS currency)
FROM countries_src;
CREATE OR REPLACE TABLE mccs AS
SELECT * REPLACE (CAST(code AS mcc_enum) AS code)
FROM mccs_src;
{% if fx %}
-- v3: the fixed FX table amounts were converted with (units of the currency per EUR).
CREATE OR REPLACE TABLE fx_rates AS
SELECT CAST(currency AS currency_enum) AS currency, units_per_eur,
       CAST(minor_units AS INTEGER) AS minor_units
FROM fx_src ORDER BY currency;
{% endif %}
