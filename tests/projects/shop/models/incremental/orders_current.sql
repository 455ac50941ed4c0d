{%- if target.type == 'spark' -%}
{#- dbt-spark has no delete+insert; on parquet, overwriting one partition per order replaces
    the same rows (dbt-spark overwrites the partitions the query writes, dynamically). -#}
{{ config(incremental_strategy='insert_overwrite', partition_by=['order_id']) }}
{%- else -%}
{{ config(incremental_strategy='delete+insert', unique_key='order_id') }}
{%- endif %}
{#- The latest version of every order: a run replaces the orders updated since the last one. -#}
select order_id, customer_id, status, amount, updated_at
from {{ ref('stg_orders') }}
{% if is_incremental() %}
where updated_at > (select max(updated_at) from {{ this }})
{% endif %}
