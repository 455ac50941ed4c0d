select p.payment_id, p.order_id, p.method, m.settlement, p.amount, p.paid_date, o.country_code
from {{ ref('stg_payments') }} as p
join {{ ref('stg_payment_methods') }} as m on m.method = p.method
join {{ ref('int_orders_enriched') }} as o on o.order_id = p.order_id
