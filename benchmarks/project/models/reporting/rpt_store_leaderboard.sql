select store_id, region, revenue, rank() over (partition by region order by revenue desc) as region_rank
from {{ ref('store_performance') }}
