{{ config(
    materialized='incremental',
    incremental_strategy=('insert_overwrite' if target.type == 'spark' else 'delete+insert'),
    unique_key=(none if target.type == 'spark' else 'batch_date'),
    partition_by=(['batch_date'] if target.type == 'spark' else none),
    on_schema_change='fail',
) }}
-- Gold: one row per batch, the numbers a dashboard shows.
with per_type as (
    select *
    from {{ ref('gold_event_metrics') }}
    {%- if sagaz_example.batch_date() %}
    where batch_date = {{ sagaz_example.batch_literal() }}
    {%- endif %}
),

users as (
    select batch_date, count(distinct user_id) as active_users
    from {{ ref('silver_events') }}
    {%- if sagaz_example.batch_date() %}
    where batch_date = {{ sagaz_example.batch_literal() }}
    {%- endif %}
    group by batch_date
)

select
    t.batch_date,
    sum(t.events) as events,
    max(u.active_users) as active_users,
    sum(case when t.event_type = 'purchase' then t.events else 0 end) as purchases,
    cast(sum(t.revenue) as decimal(14, 2)) as revenue,
{%- if sagaz_example.injected('lakehouse_gold') %}
    -- injected bug (--vars '{fail: lakehouse_gold}'): a column that does not exist
    cast(sum(t.revenue) / max(u.paying_users) as decimal(14, 2)) as revenue_per_user
{%- else %}
    cast(sum(t.revenue) / nullif(max(u.active_users), 0) as decimal(14, 2)) as revenue_per_user
{%- endif %}
from per_type as t
join users as u on u.batch_date = t.batch_date
group by t.batch_date
