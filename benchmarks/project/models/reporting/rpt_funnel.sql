select event_date, views, checkouts, view_to_checkout from {{ ref('funnel_daily') }}
