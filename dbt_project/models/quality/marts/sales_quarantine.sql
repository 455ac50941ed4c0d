-- The rows the gate rejected, with the reason, for someone to fix at the source.
select
    sale_id,
    customer_id,
    sku,
    quantity,
    unit_price,
    sale_date,
    region,
    delivery_no,
    rejection_reason
from {{ ref('int_sales_checked') }}
where rejection_reason is not null
