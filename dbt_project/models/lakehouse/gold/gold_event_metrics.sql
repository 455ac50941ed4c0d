{{ config(
    materialized='incremental',
    incremental_strategy=('insert_overwrite' if target.type == 'spark' else 'delete+insert'),
    unique_key=(none if target.type == 'spark' else 'batch_date'),
    partition_by=(['batch_date'] if target.type == 'spark' else none),
    on_schema_change='fail',
) }}
-- Gold: events, users and revenue per batch and event type.
select
    batch_date,
    event_type,
    count(*) as events,
    count(distinct user_id) as users,
    cast(coalesce(sum(amount), 0) as decimal(14, 2)) as revenue
from {{ ref('silver_events') }}
{%- if sagaz_example.batch_date() %}
where batch_date = {{ sagaz_example.batch_literal() }}
{%- endif %}
group by batch_date, event_type
