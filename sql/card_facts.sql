-- Each card with its owner's home, joined once per process so a chunk's rows join one
-- table less (cards ⋈ customers would otherwise be rebuilt for every chunk).
CREATE TEMP TABLE card_facts AS
SELECT c.*, cu.home_lat, cu.home_lon
FROM cards AS c
JOIN customers AS cu ON cu.customer_id = c.customer_id
ORDER BY c.card_id;
