{{ config(incremental_strategy='delete+insert', unique_key='order_id') }}
{#- The latest version of every order: a run replaces the orders updated since the last one. -#}
select order_id, customer_id, status, amount, updated_at
from {{ ref('stg_orders') }}
{% if is_incremental() %}
where updated_at > (select max(updated_at) from {{ this }})
{% endif %}
