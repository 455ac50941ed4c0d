-- One row per order line (the largest table of the project).
select i.item_id, i.order_id, i.order_date, i.product_id, p.category_id, p.department,
       i.quantity, i.unit_price, i.discount,
       cast(i.quantity * i.unit_price * (1 - i.discount) as decimal(18, 2)) as revenue,
       cast(i.quantity * p.unit_cost as decimal(18, 2)) as cost
from {{ ref('stg_order_items') }} as i
join {{ ref('int_product_catalog') }} as p on p.product_id = i.product_id
