select store_id, channel, count(*) as returns, sum(revenue) as returned_revenue
from {{ ref('int_returns') }}
group by 1, 2
