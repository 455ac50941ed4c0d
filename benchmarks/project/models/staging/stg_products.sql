select p.product_id, p.product_name, p.category_id,
       cast(p.list_price * (1 + c.tag * 0.001) as decimal(12, 2)) as list_price,
       p.unit_cost
from {{ source('raw', 'raw_products') }} as p
cross join {{ ref('stg_run_control') }} as c
