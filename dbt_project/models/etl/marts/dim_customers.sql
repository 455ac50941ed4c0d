-- Customer dimension: every customer with their order history so far.
with order_stats as (
    select
        customer_id,
        count(*) as order_count,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date
    from {{ ref('stg_orders') }}
    where status <> 'cancelled'
    group by customer_id
)

select
    c.customer_id,
    c.first_name || ' ' || c.last_name as customer_name,
    c.email,
    c.country_code,
    c.signup_date,
    coalesce(s.order_count, 0) as order_count,
    s.first_order_date,
    s.last_order_date
from {{ ref('stg_customers') }} as c
left join order_stats as s on s.customer_id = c.customer_id
