select p.product_id, p.category_id, p.units_sold, p.revenue,
       coalesce(e.views, 0) as views, coalesce(e.add_to_carts, 0) as add_to_carts,
       {{ ratio('p.units_sold', 'coalesce(e.views, 0)') }} as units_per_view
from {{ ref('dim_products') }} as p
left join {{ ref('int_product_events') }} as e on e.product_id = p.product_id
