-- Staging: the delivery as received, typed, with each copy of a sale numbered.
select
    sale_id,
    customer_id,
    upper(trim(sku)) as sku,
    quantity,
    unit_price,
    sale_date,
    lower(trim(region)) as region,
    row_number() over (
        partition by sale_id
        order by customer_id, sku, quantity, unit_price, sale_date, region
    ) as delivery_no
from {{ ref('incoming_sales') }}
