select date_day, orders, revenue, views, checkouts from {{ ref('fct_daily_kpis') }}
