{{ config(materialized='ephemeral') }}
select product_id,
       sum(case when event_type = 'view' then 1 else 0 end) as views,
       sum(case when event_type = 'add_to_cart' then 1 else 0 end) as add_to_carts
from {{ ref('int_events_enriched') }}
group by product_id
