{{ config(materialized='incremental', incremental_strategy='insert_overwrite', partition_by=['batch']) }}
select order_id, customer_id, amount, batch from {{ ref('stg_orders') }}
{% if is_incremental() %}where batch = {{ var('batch') }}{% endif %}
