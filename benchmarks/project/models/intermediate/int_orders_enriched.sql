select o.order_id, o.customer_id, o.store_id, o.channel, o.status, o.order_date, o.order_ts,
       g.segment, g.country_code, g.region, g.currency,
       coalesce(t.items, 0) as items,
       coalesce(t.units, 0) as units,
       coalesce(t.revenue, 0) as revenue,
       coalesce(t.cost, 0) as cost,
       coalesce(p.paid, 0) as paid,
       p.last_paid_date
from {{ ref('stg_orders') }} as o
left join {{ ref('int_customer_geo') }} as g on g.customer_id = o.customer_id
left join {{ ref('int_order_totals') }} as t on t.order_id = o.order_id
left join {{ ref('int_payments_by_order') }} as p on p.order_id = o.order_id
