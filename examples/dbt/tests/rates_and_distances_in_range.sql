-- Fails on impossible values.
select * from {{ ref('payment_features') }}
where merchant_fraud_rate_so_far not between 0 and 1
   or km_from_home < 0 or km_from_home > 20100
   or merchant_frauds_reported_so_far > merchant_payments_before + 1000000
   or amount_vs_card_mean <= 0
