-- Revenue by day agrees between the order-level and the item-level marts.
select o.order_date, o.revenue, i.revenue
from (select order_date, sum(revenue) as revenue from {{ ref('sales_by_store_day') }} group by 1) as o
join (select order_date, sum(revenue) as revenue from {{ ref('sales_by_product_day') }} group by 1) as i
  on o.order_date = i.order_date
where o.revenue <> i.revenue
