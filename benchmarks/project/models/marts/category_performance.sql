select category_id, count(*) as products, sum(units_sold) as units, sum(revenue) as revenue,
       sum(views) as views
from {{ ref('product_performance') }}
group by category_id
