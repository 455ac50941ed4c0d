select i.item_id, i.order_id, i.product_id, i.quantity,
       cast(i.unit_price * (1 + c.tag * 0.001) as decimal(12, 2)) as unit_price,
       i.discount, i.order_date
from {{ source('raw', 'raw_order_items') }} as i
cross join {{ ref('stg_run_control') }} as c
