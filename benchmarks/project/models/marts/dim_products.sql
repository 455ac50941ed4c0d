select p.product_id, p.product_name, p.category_id, p.category_name, p.department, p.list_price,
       p.unit_cost, coalesce(s.units, 0) as units_sold, coalesce(s.revenue, 0) as revenue
from {{ ref('int_product_catalog') }} as p
left join {{ ref('int_product_sales') }} as s on s.product_id = p.product_id
