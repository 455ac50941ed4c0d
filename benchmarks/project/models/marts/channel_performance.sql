select channel, sum(orders) as orders, sum(revenue) as revenue
from {{ ref('int_channel_daily') }}
group by channel
