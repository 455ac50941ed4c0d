select order_id, customer_id, store_id, channel, status, order_date, order_ts
from {{ source('raw', 'raw_orders') }}
