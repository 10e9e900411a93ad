-- v3: per payment currency, the exact integer factors that turn its amount into the run's
-- base currency ($base, a currency of the FX table), joined by the chunk query to make
-- `amount_base` = amount / (units per EUR) * (base units per EUR), rounded half up to the
-- base's minor units. Integers keep ties exact (a double gives 65.91 USD / 1.04 =
-- 63.37 EUR instead of 63.375 -> 63.38): rates in ten-thousandths, none finer and none
-- from 400 up (sqlgen/world/money.py checks schema/money.yaml), so 2 * cents * num stays below
-- 2^63 for any DECIMAL(12,2) amount and BIGINT suffices (HUGEINT cost ~10% of a chunk).
--   steps = (2 * cents * num + den) // (2 * den); amount_base = steps * step cents
CREATE OR REPLACE TABLE fx_base AS
SELECT f.currency,
       CAST(round(b.units_per_eur * 10000) AS BIGINT) AS num,
       CAST(round(f.units_per_eur * 10000) AS BIGINT) * b.step AS den,
       b.step
FROM fx_rates AS f
CROSS JOIN (SELECT units_per_eur, CAST(10 ** (2 - minor_units) AS BIGINT) AS step
            FROM fx_rates WHERE CAST(currency AS VARCHAR) = $base) AS b
ORDER BY f.currency;
