{{ config(materialized='ephemeral') }}
select order_id,
       count(*) as items,
       sum(quantity) as units,
       sum(revenue) as revenue,
       sum(cost) as cost
from {{ ref('int_order_items_enriched') }}
group by order_id
