{{ config(materialized='ephemeral') }}
select p.product_id, p.product_name, p.category_id, c.category_name, c.department, p.list_price, p.unit_cost
from {{ ref('stg_products') }} as p
join {{ ref('stg_categories') }} as c on c.category_id = p.category_id
