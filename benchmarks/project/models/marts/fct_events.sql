{{ config(materialized='incremental', unique_key='event_date', incremental_strategy='delete+insert') }}
select event_id, session_id, customer_id, product_id, event_type, event_date, event_value, segment,
       country_code, category_id
from {{ ref('int_events_enriched') }}
{{ last_day_filter('event_date') }}
