{{ config(materialized='view') }}
select order_id, customer_id, cast(amount as decimal(10, 2)) as amount, batch from {{ ref('orders') }}
