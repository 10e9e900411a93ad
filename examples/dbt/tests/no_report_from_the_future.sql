-- The merchant rate may only count frauds reported before the payment: recompute it
-- the slow way for a sample and compare.
with f as (select * from {{ ref('payment_features') }} using sample 200 rows (reservoir, 7)),
p as (select * from {{ source('sqlgen', 'payments') }})
select f.transaction_id
from f
where f.merchant_frauds_reported_so_far <> (
    select count(*) from p
    where p.merchant_id = f.merchant_id and p.label_fraud
      and p.fraud_reported_at < f.event_time
)
