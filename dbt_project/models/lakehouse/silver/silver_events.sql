{{ config(
    materialized='incremental',
    incremental_strategy=('insert_overwrite' if target.type == 'spark' else 'delete+insert'),
    unique_key=(none if target.type == 'spark' else 'batch_date'),
    partition_by=(['batch_date'] if target.type == 'spark' else none),
    on_schema_change='fail',
) }}
-- Silver: the batch de-duplicated (one row per event_id), typed and validated (events
-- without a user or with an unknown type are dropped).
with batch as (
    select *
    from {{ ref('bronze_events') }}
    {%- if sagaz_example.batch_date() %}
    where batch_date = {{ sagaz_example.batch_literal() }}
    {%- endif %}
),

ranked as (
    select
        *,
        row_number() over (partition by event_id order by _source_file, _record_hash) as _copy_no
    from batch
)

select
    batch_date,
    event_id,
    cast(user_id as integer) as user_id,
    event_type,
    cast(event_ts as timestamp) as event_ts,
    cast(amount as decimal(12, 2)) as amount,
    _source_file,
    _record_hash
from ranked
where user_id is not null
  and event_type in ('page_view', 'add_to_cart', 'purchase', 'signup')
{%- if sagaz_example.injected('lakehouse_silver') %}
  -- injected bug (--vars '{fail: lakehouse_silver}'): redelivered events are kept
{%- else %}
  and _copy_no = 1
{%- endif %}
