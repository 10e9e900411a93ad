-- Point-in-time fraud features: every value uses only what was known when the payment
-- happened (earlier payments of the card, fraud reports already received).
with payments as (
    select * from {{ source('sqlgen', 'payments') }}
),

card_history as (
    select
        transaction_id,
        count(*) over (
            partition by card_id order by event_time
            range between interval 1 hour preceding and current row
        ) - 1 as card_payments_1h,
        count(*) over (
            partition by card_id order by event_time
            range between interval 24 hours preceding and current row
        ) - 1 as card_payments_24h,
        avg(amount) over (
            partition by card_id order by event_time
            rows between unbounded preceding and 1 preceding
        ) as card_trailing_mean_amount,
        row_number() over (
            partition by card_id, device_id order by event_time
        ) = 1 and device_id is not null as first_seen_device_for_card,
        row_number() over (
            partition by card_id, country_code order by event_time
        ) = 1 as first_seen_country_for_card
    from payments
),

-- Merchant fraud rate as known so far: frauds *reported* before this payment, over the
-- merchant's earlier payments. Payments and reports are merged into one time line.
merchant_events as (
    select merchant_id, event_time as happened_at, 1 as is_payment, transaction_id
    from payments
    union all
    select merchant_id, fraud_reported_at as happened_at, 0 as is_payment, null as transaction_id
    from payments
    where label_fraud and fraud_reported_at is not null
),

merchant_running as (
    select
        transaction_id,
        is_payment,
        sum(1 - is_payment) over w as reports_so_far,
        sum(is_payment) over w - is_payment as payments_before
    from merchant_events
    window w as (partition by merchant_id order by happened_at, is_payment
                 rows between unbounded preceding and current row)
)

select
    p.transaction_id,
    p.event_time,
    p.card_id,
    p.customer_id,
    p.merchant_id,
    p.amount,
    h.card_payments_1h,
    h.card_payments_24h,
    h.card_trailing_mean_amount,
    p.amount / nullif(h.card_trailing_mean_amount, 0) as amount_vs_card_mean,
    -- great-circle distance from the customer's home, in km
    2 * 6371 * asin(sqrt(
        pow(sin(radians(p.latitude - c.home_lat) / 2), 2)
        + cos(radians(c.home_lat)) * cos(radians(p.latitude))
        * pow(sin(radians(p.longitude - c.home_lon) / 2), 2)
    )) as km_from_home,
    h.first_seen_device_for_card,
    h.first_seen_country_for_card,
    m.reports_so_far as merchant_frauds_reported_so_far,
    m.payments_before as merchant_payments_before,
    m.reports_so_far / nullif(m.payments_before, 0) as merchant_fraud_rate_so_far,
    p.label_fraud,
    p.fraud_reported_at
from payments as p
join card_history as h using (transaction_id)
join merchant_running as m on m.transaction_id = p.transaction_id and m.is_payment = 1
join {{ source('sqlgen', 'customers') }} as c on c.customer_id = p.customer_id
