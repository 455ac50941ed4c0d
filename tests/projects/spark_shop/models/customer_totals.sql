{{ config(materialized='table') }}
select c.customer_id, c.name, count(o.order_id) as orders, coalesce(sum(o.amount), 0) as total
from {{ ref('customers') }} as c
left join {{ ref('stg_orders') }} as o on o.customer_id = c.customer_id
{% if var('break_model') %}cross join {{ this.schema }}.no_such_relation{% endif %}
group by c.customer_id, c.name
