{{ config(alias='order') }}
{#- Aliased to a reserved word: every statement must quote it. -#}
select
    order_id,
    customer_id,
    status,
    amount,
    amount_paid,
    amount - amount_paid as balance
from {{ ref('fct_orders') }}
