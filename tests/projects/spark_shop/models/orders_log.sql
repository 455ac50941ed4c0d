{{ config(materialized='incremental', incremental_strategy='append') }}
select order_id, amount, {{ var('batch') }} as loaded_batch from {{ ref('stg_orders') }}
where batch <= {{ var('batch') }}
{% if is_incremental() %}and batch = {{ var('batch') }}{% endif %}
