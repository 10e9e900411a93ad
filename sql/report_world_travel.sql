-- Speed a card's holder would need between consecutive in-person payments (km/h,
-- great-circle distance over elapsed time), overall and for moves between places
-- more than $far_km apart.
WITH pairs AS (
    SELECT latitude AS lat1, longitude AS lon1,
           lead(latitude) OVER w AS lat2, lead(longitude) OVER w AS lon2,
           epoch(lead(event_time) OVER w - event_time) / 3600.0 AS hours
    FROM payments
    WHERE channel = 'pos'
    WINDOW w AS (PARTITION BY card_id ORDER BY event_time)
),
moves AS (
    SELECT 2 * 6371.0 * asin(sqrt(
               pow(sin(radians(lat2 - lat1) / 2), 2)
               + cos(radians(lat1)) * cos(radians(lat2)) * pow(sin(radians(lon2 - lon1) / 2), 2)
           )) AS km,
           hours
    FROM pairs
    WHERE lat2 IS NOT NULL
)
SELECT CASE WHEN km > $far_km THEN 'between places' ELSE 'within a place' END AS moves,
       count(*) AS pairs,
       round(quantile_cont(km, 0.5), 1) AS km_p50,
       round(quantile_cont(km / greatest(hours, 1 / 3600.0), 0.5), 1) AS kmh_p50,
       round(quantile_cont(km / greatest(hours, 1 / 3600.0), 0.99), 1) AS kmh_p99,
       round(max(km / greatest(hours, 1 / 3600.0)), 1) AS kmh_max,
       round(100.0 * avg((km / greatest(hours, 1 / 3600.0) > 900)::INT), 3) AS pct_over_900
FROM moves
GROUP BY ALL
ORDER BY moves;
