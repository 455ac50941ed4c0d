select c.customer_id, c.customer_name, c.segment, c.country_code, g.region, c.signup_date,
       coalesce(o.orders, 0) as orders, coalesce(o.revenue, 0) as revenue,
       o.first_order_date, o.last_order_date,
       coalesce(e.sessions, 0) as sessions
from {{ ref('stg_customers') }} as c
left join {{ ref('int_customer_geo') }} as g on g.customer_id = c.customer_id
left join {{ ref('int_customer_orders') }} as o on o.customer_id = c.customer_id
left join {{ ref('int_customer_events') }} as e on e.customer_id = c.customer_id
