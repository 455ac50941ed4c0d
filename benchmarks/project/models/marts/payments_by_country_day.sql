select country_code as country_key, paid_date,
       count(*) as payments, sum(amount) as amount
from {{ ref('int_payments_enriched') }}
group by 1, 2
