{{ config(materialized='ephemeral') }}
select order_id, count(*) as payments, sum(amount) as paid, max(paid_date) as last_paid_date
from {{ ref('stg_payments') }}
group by order_id
