select segment, country_code, count(*) as customers, sum(orders) as orders, sum(revenue) as revenue
from {{ ref('dim_customers') }}
group by 1, 2
