{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partition_by=['day']) }}
{#- The incremental batch also reads the target (its first day), as such models often do. -#}
select event_id, amount, batch, cast(nullif(day, 'x') as date) as day
from {{ ref('events') }}
where batch <= {{ var('batch') }}
{% if is_incremental() %}
  and batch = {{ var('batch') }}
  and (day = 'x' or cast(day as date) >= (select min(day) from {{ this }}))
{% endif %}
