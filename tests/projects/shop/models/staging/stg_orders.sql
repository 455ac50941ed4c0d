select
    order_id,
    customer_id,
    order_date,
    status,
    cast(amount as numeric(12, 2)) as amount,
    updated_at
from {{ ref('orders') }}
