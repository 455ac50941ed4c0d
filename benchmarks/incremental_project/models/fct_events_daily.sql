{#-
  An event fact partitioned by day.  The first build loads every day; every later run
  reloads the last day present in the table (late-arriving events), with delete+insert on
  event_date: exactly one partition is deleted and inserted again.  sagaz-dbt's row-level
  snapshot copies that one day's rows (unique_key = the partition column).
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='event_date',
    indexes=([{'columns': ['event_date']}] if target.type == 'postgres' else []),
) }}
select e.event_id, e.customer_id, e.event_type, e.event_date, e.event_ts,
       cast(e.event_value * (1 + c.tag * 0.001) as decimal(12, 2)) as event_value
from {{ source('raw', 'raw_events_daily') }} as e
cross join {{ source('raw', 'bench_control') }} as c
{% if is_incremental() %}
where e.event_date >= (select max(event_date) from {{ this }})
{% endif %}
