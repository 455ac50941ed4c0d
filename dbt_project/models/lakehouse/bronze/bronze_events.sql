{{ config(
    materialized='incremental',
    incremental_strategy=('insert_overwrite' if target.type == 'spark' else 'delete+insert'),
    unique_key=(none if target.type == 'spark' else 'batch_date'),
    partition_by=(['batch_date'] if target.type == 'spark' else none),
    on_schema_change='fail',
) }}
-- Bronze: the landed events exactly as received, plus load metadata, appended one batch
-- (partition) at a time.  Re-loading a batch replaces it (delete+insert on batch_date).
-- The metadata is deterministic (no load timestamp), so a re-run batch is identical.
select
    cast(batch_date as date) as batch_date,
    event_id,
    event_ts,
    user_id,
    event_type,
    amount,
    source_file as _source_file,
    {{ dbt.hash(dbt.concat(["coalesce(event_id, '')", "'|'", "coalesce(event_ts, '')", "'|'",
                            "coalesce(user_id, '')", "'|'", "coalesce(event_type, '')", "'|'",
                            "coalesce(amount, '')"])) }} as _record_hash
from {{ ref('landing_events') }}
{%- if sagaz_example.batch_date() %}
where cast(batch_date as date) = {{ sagaz_example.batch_literal() }}
{%- endif %}
