{#- After every model.  Fails with --vars '{fail_singular: true}'. -#}
select t.total, o.total as by_country
from (select sum(total) as total from {{ ref('customer_totals') }}) as t
cross join (select sum(total) as total from {{ ref('country_totals') }}) as o
cross join (select count(*) as n from {{ ref('top_customers') }}) as v
cross join (select count(*) as n from {{ ref('orders_log') }}) as l
cross join (select count(*) as n from {{ ref('orders_by_batch') }}) as b
where t.total <> o.total {% if var('fail_singular') %}or true{% endif %}
