select event_date, views, clicks, add_to_carts, checkouts,
       {{ ratio('checkouts', 'views') }} as view_to_checkout
from {{ ref('int_daily_funnel') }}
