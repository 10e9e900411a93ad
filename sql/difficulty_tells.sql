-- Tells and lifecycle checks: fraud rate among rows whose device / IP occurs once in the
-- whole dataset, against the overall rate; approved payments on a card after its first
-- `card_blocked` decline; the probes of issue 24: online rows away from the holder's home
-- point, (latitude, longitude) pairs seen once, devices and IPs first seen less than 14
-- days before, and the fraud rate in the first and last 6 hours of the window.
WITH dev AS (SELECT device_id, count(*) AS n FROM payments WHERE device_id IS NOT NULL GROUP BY ALL),
ip AS (SELECT ip_address, count(*) AS n FROM payments WHERE ip_address IS NOT NULL GROUP BY ALL),
blocked AS (
    SELECT card_id, min(event_time) AS first_blocked
    FROM payments WHERE decline_reason = 'card_blocked' GROUP BY ALL
),
pairs AS (SELECT latitude, longitude, count(*) AS n FROM payments GROUP BY ALL),
dev_first AS (SELECT device_id, min(event_time) AS t FROM payments
              WHERE device_id IS NOT NULL GROUP BY ALL),
ip_first AS (SELECT ip_address, min(event_time) AS t FROM payments
             WHERE ip_address IS NOT NULL GROUP BY ALL),
span AS (SELECT min(event_time) AS t0, max(event_time) AS t1 FROM payments),
online AS (
    SELECT p.label_fraud,
           (p.latitude, p.longitude) <> (c.home_lat, c.home_lon) AS off_home,
           p.event_time - d.t < INTERVAL 14 DAY AS new_device,
           p.event_time - i.t < INTERVAL 14 DAY AS new_ip
    FROM payments p
    JOIN customers c USING (customer_id)
    LEFT JOIN dev_first d USING (device_id)
    LEFT JOIN ip_first i USING (ip_address)
    , span
    -- after the first two weeks, so that "first seen" means new, not the window's start
    WHERE p.channel <> 'pos' AND p.event_time >= span.t0 + INTERVAL 14 DAY
)
SELECT
    (SELECT avg(CAST(label_fraud AS DOUBLE)) FROM payments) AS overall_rate,
    (SELECT avg(CAST(p.label_fraud AS DOUBLE)) FROM payments p JOIN dev USING (device_id)
     WHERE dev.n = 1) AS seen_once_device_rate,
    (SELECT count(*) FROM payments p JOIN dev USING (device_id) WHERE dev.n = 1)
        AS seen_once_device_rows,
    (SELECT avg(CAST(p.label_fraud AS DOUBLE)) FROM payments p JOIN ip USING (ip_address)
     WHERE ip.n = 1) AS seen_once_ip_rate,
    (SELECT count(*) FROM payments p JOIN ip USING (ip_address) WHERE ip.n = 1)
        AS seen_once_ip_rows,
    (SELECT count(*) FROM payments p JOIN blocked b USING (card_id)
     WHERE p.event_time > b.first_blocked AND p.auth_result = 'approved') AS approved_after_block,
    (SELECT count(*) FROM blocked) AS blocked_cards,
    (SELECT avg(CAST(label_fraud AS DOUBLE)) FROM online) AS online_rate,
    (SELECT avg(CAST(label_fraud AS DOUBLE)) FILTER (off_home) FROM online) AS off_home_rate,
    (SELECT avg(CAST(off_home AS DOUBLE)) FILTER (NOT label_fraud) FROM online)
        AS genuine_off_home_share,
    (SELECT avg(CAST(p.label_fraud AS DOUBLE)) FROM payments p JOIN pairs USING (latitude, longitude)
     WHERE pairs.n = 1) AS seen_once_place_rate,
    (SELECT count(*) FROM pairs WHERE n = 1) AS seen_once_place_rows,
    (SELECT avg(CAST(new_device AS DOUBLE)) FILTER (label_fraud) FROM online) AS fraud_new_device,
    (SELECT avg(CAST(new_device AS DOUBLE)) FILTER (NOT label_fraud) FROM online)
        AS genuine_new_device,
    (SELECT avg(CAST(new_ip AS DOUBLE)) FILTER (label_fraud) FROM online) AS fraud_new_ip,
    (SELECT avg(CAST(new_ip AS DOUBLE)) FILTER (NOT label_fraud) FROM online) AS genuine_new_ip,
    (SELECT avg(CAST(label_fraud AS DOUBLE)) FROM payments, span
     WHERE event_time < span.t0 + INTERVAL 6 HOUR) AS first_hours_rate,
    (SELECT avg(CAST(label_fraud AS DOUBLE)) FROM payments, span
     WHERE event_time > span.t1 - INTERVAL 6 HOUR) AS last_hours_rate
