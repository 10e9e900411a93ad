-- Fails on rows where the 24h count is below the 1h count or either is negative.
select * from {{ ref('payment_features') }}
where card_payments_1h < 0 or card_payments_24h < card_payments_1h
