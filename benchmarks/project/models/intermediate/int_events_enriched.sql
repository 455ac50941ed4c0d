select e.event_id, e.session_id, e.customer_id, e.product_id, e.event_type, e.event_date, e.event_ts,
       e.event_value, g.segment, g.country_code, p.category_id
from {{ ref('stg_events') }} as e
left join {{ ref('int_customer_geo') }} as g on g.customer_id = e.customer_id
left join {{ ref('stg_products') }} as p on p.product_id = e.product_id
