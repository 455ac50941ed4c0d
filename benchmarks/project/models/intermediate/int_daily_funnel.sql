select event_date,
       sum(case when event_type = 'view' then 1 else 0 end) as views,
       sum(case when event_type = 'click' then 1 else 0 end) as clicks,
       sum(case when event_type = 'add_to_cart' then 1 else 0 end) as add_to_carts,
       sum(case when event_type = 'checkout' then 1 else 0 end) as checkouts
from {{ ref('int_events_enriched') }}
group by event_date
