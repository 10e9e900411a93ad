-- Payments per entity by popularity rank (Zipf shows as a straight line on log-log),
-- thinned to about 400 points.
WITH c AS (SELECT {{ column | ident }}, count(*) AS n FROM payments GROUP BY ALL),
r AS (SELECT n, row_number() OVER (ORDER BY n DESC) AS rank, count(*) OVER () AS total FROM c)
SELECT rank, n
FROM r
WHERE rank <= 200 OR rank % greatest(total // 200, 1) = 0
ORDER BY rank;
