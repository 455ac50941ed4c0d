{{ config(materialized='table') }}
-- Row counts of every mart table: built last, so its test is the last node of the run.
select 'category_performance' as model_name, count(*) as row_count from {{ ref('category_performance') }}
union all
select 'channel_performance' as model_name, count(*) as row_count from {{ ref('channel_performance') }}
union all
select 'customer_cohorts' as model_name, count(*) as row_count from {{ ref('customer_cohorts') }}
union all
select 'customer_engagement' as model_name, count(*) as row_count from {{ ref('customer_engagement') }}
union all
select 'customer_ltv' as model_name, count(*) as row_count from {{ ref('customer_ltv') }}
union all
select 'customer_rfm' as model_name, count(*) as row_count from {{ ref('customer_rfm') }}
union all
select 'customer_segments' as model_name, count(*) as row_count from {{ ref('customer_segments') }}
union all
select 'dim_channels' as model_name, count(*) as row_count from {{ ref('dim_channels') }}
union all
select 'dim_customers' as model_name, count(*) as row_count from {{ ref('dim_customers') }}
union all
select 'dim_dates' as model_name, count(*) as row_count from {{ ref('dim_dates') }}
union all
select 'dim_products' as model_name, count(*) as row_count from {{ ref('dim_products') }}
union all
select 'dim_stores' as model_name, count(*) as row_count from {{ ref('dim_stores') }}
union all
select 'events_by_category_day' as model_name, count(*) as row_count from {{ ref('events_by_category_day') }}
union all
select 'events_by_category_week' as model_name, count(*) as row_count from {{ ref('events_by_category_week') }}
union all
select 'events_by_country_day' as model_name, count(*) as row_count from {{ ref('events_by_country_day') }}
union all
select 'events_by_country_week' as model_name, count(*) as row_count from {{ ref('events_by_country_week') }}
union all
select 'events_by_event_type_day' as model_name, count(*) as row_count from {{ ref('events_by_event_type_day') }}
union all
select 'events_by_event_type_week' as model_name, count(*) as row_count from {{ ref('events_by_event_type_week') }}
union all
select 'events_by_segment_day' as model_name, count(*) as row_count from {{ ref('events_by_segment_day') }}
union all
select 'events_by_segment_week' as model_name, count(*) as row_count from {{ ref('events_by_segment_week') }}
union all
select 'fct_daily_kpis' as model_name, count(*) as row_count from {{ ref('fct_daily_kpis') }}
union all
select 'fct_events' as model_name, count(*) as row_count from {{ ref('fct_events') }}
union all
select 'fct_order_items' as model_name, count(*) as row_count from {{ ref('fct_order_items') }}
union all
select 'fct_orders' as model_name, count(*) as row_count from {{ ref('fct_orders') }}
union all
select 'fct_payments' as model_name, count(*) as row_count from {{ ref('fct_payments') }}
union all
select 'fct_sessions' as model_name, count(*) as row_count from {{ ref('fct_sessions') }}
union all
select 'funnel_daily' as model_name, count(*) as row_count from {{ ref('funnel_daily') }}
union all
select 'payment_reconciliation' as model_name, count(*) as row_count from {{ ref('payment_reconciliation') }}
union all
select 'payments_by_country_day' as model_name, count(*) as row_count from {{ ref('payments_by_country_day') }}
union all
select 'payments_by_country_week' as model_name, count(*) as row_count from {{ ref('payments_by_country_week') }}
union all
select 'payments_by_method_day' as model_name, count(*) as row_count from {{ ref('payments_by_method_day') }}
union all
select 'payments_by_method_week' as model_name, count(*) as row_count from {{ ref('payments_by_method_week') }}
union all
select 'product_performance' as model_name, count(*) as row_count from {{ ref('product_performance') }}
union all
select 'returns_by_store' as model_name, count(*) as row_count from {{ ref('returns_by_store') }}
union all
select 'sales_by_category_day' as model_name, count(*) as row_count from {{ ref('sales_by_category_day') }}
union all
select 'sales_by_category_week' as model_name, count(*) as row_count from {{ ref('sales_by_category_week') }}
union all
select 'sales_by_channel_day' as model_name, count(*) as row_count from {{ ref('sales_by_channel_day') }}
union all
select 'sales_by_channel_week' as model_name, count(*) as row_count from {{ ref('sales_by_channel_week') }}
union all
select 'sales_by_country_day' as model_name, count(*) as row_count from {{ ref('sales_by_country_day') }}
union all
select 'sales_by_country_week' as model_name, count(*) as row_count from {{ ref('sales_by_country_week') }}
union all
select 'sales_by_currency_day' as model_name, count(*) as row_count from {{ ref('sales_by_currency_day') }}
union all
select 'sales_by_currency_week' as model_name, count(*) as row_count from {{ ref('sales_by_currency_week') }}
union all
select 'sales_by_department_day' as model_name, count(*) as row_count from {{ ref('sales_by_department_day') }}
union all
select 'sales_by_department_week' as model_name, count(*) as row_count from {{ ref('sales_by_department_week') }}
union all
select 'sales_by_product_day' as model_name, count(*) as row_count from {{ ref('sales_by_product_day') }}
union all
select 'sales_by_product_week' as model_name, count(*) as row_count from {{ ref('sales_by_product_week') }}
union all
select 'sales_by_region_day' as model_name, count(*) as row_count from {{ ref('sales_by_region_day') }}
union all
select 'sales_by_region_week' as model_name, count(*) as row_count from {{ ref('sales_by_region_week') }}
union all
select 'sales_by_segment_day' as model_name, count(*) as row_count from {{ ref('sales_by_segment_day') }}
union all
select 'sales_by_segment_week' as model_name, count(*) as row_count from {{ ref('sales_by_segment_week') }}
union all
select 'sales_by_status_day' as model_name, count(*) as row_count from {{ ref('sales_by_status_day') }}
union all
select 'sales_by_status_week' as model_name, count(*) as row_count from {{ ref('sales_by_status_week') }}
union all
select 'sales_by_store_day' as model_name, count(*) as row_count from {{ ref('sales_by_store_day') }}
union all
select 'sales_by_store_week' as model_name, count(*) as row_count from {{ ref('sales_by_store_week') }}
union all
select 'session_conversion' as model_name, count(*) as row_count from {{ ref('session_conversion') }}
union all
select 'store_performance' as model_name, count(*) as row_count from {{ ref('store_performance') }}
