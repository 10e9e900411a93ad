-- v3: per payment currency, the exact integer factors that turn its amount into the run's
-- base currency ($base, a currency of the FX table), joined by the chunk query to make
-- `amount_base` = amount / (units per EUR) * (base units per EUR), rounded half up to the
-- base's minor units. Integers (rates in millionths, HUGEINT) keep ties exact: a double
-- gives 65.91 USD / 1.04 = 63.37 EUR instead of 63.375 -> 63.38.
--   steps = (2 * cents * num + den) // (2 * den); amount_base = steps * step cents
CREATE OR REPLACE TABLE fx_base AS
SELECT f.currency,
       CAST(round(b.units_per_eur * 1e6) AS HUGEINT) AS num,
       CAST(round(f.units_per_eur * 1e6) AS HUGEINT) * b.step AS den,
       b.step
FROM fx_rates AS f
CROSS JOIN (SELECT units_per_eur, CAST(10 ** (2 - minor_units) AS HUGEINT) AS step
            FROM fx_rates WHERE CAST(currency AS VARCHAR) = $base) AS b
ORDER BY f.currency;
