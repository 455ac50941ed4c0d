select
    payment_id,
    order_id,
    payment_method,
    cast(amount as numeric(12, 2)) as amount
from {{ ref('payments') }}
