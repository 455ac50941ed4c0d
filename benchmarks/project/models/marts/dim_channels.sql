select c.channel, c.channel_group, c.is_online, count(o.order_id) as orders
from {{ ref('stg_channels') }} as c
left join {{ ref('int_orders_enriched') }} as o on o.channel = c.channel
group by 1, 2, 3
