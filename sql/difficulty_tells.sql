-- Tells and lifecycle checks: fraud rate among rows whose device / IP occurs once in the
-- whole dataset, against the overall rate; approved payments on a card after its first
-- `card_blocked` decline.
WITH dev AS (SELECT device_id, count(*) AS n FROM payments WHERE device_id IS NOT NULL GROUP BY ALL),
ip AS (SELECT ip_address, count(*) AS n FROM payments WHERE ip_address IS NOT NULL GROUP BY ALL),
blocked AS (
    SELECT card_id, min(event_time) AS first_blocked
    FROM payments WHERE decline_reason = 'card_blocked' GROUP BY ALL
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
    (SELECT count(*) FROM blocked) AS blocked_cards
