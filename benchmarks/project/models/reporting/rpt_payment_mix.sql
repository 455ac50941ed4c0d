select method_key as method, sum(amount) as amount, sum(payments) as payments
from {{ ref('payments_by_method_month') }}
group by method_key
