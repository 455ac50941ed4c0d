select c.customer_id, c.events, c.sessions, coalesce(o.orders, 0) as orders,
       {{ ratio('coalesce(o.orders, 0)', 'c.sessions') }} as orders_per_session
from {{ ref('int_customer_events') }} as c
left join {{ ref('int_customer_orders') }} as o on o.customer_id = c.customer_id
