{{ config(materialized='incremental') }}
select id, amount from {{ ref('mart_by_id') }}
{% if is_incremental() %}
where id > (select coalesce(max(id), 0) from {{ this }})
{% endif %}
