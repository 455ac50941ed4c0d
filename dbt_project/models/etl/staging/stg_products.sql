-- Staging: one row per product.
select
    upper(trim(sku)) as sku,
    trim(product_name) as product_name,
    lower(category) as category,
    cast(unit_price as decimal(10, 2)) as unit_price
from {{ ref('raw_products') }}
