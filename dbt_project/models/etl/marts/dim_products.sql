-- Product dimension.
select
    sku,
    product_name,
    category,
    unit_price
from {{ ref('stg_products') }}
