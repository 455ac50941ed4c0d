{{ config(materialized='table') }}
select c.country, sum(t.total) as total from {{ ref('customer_totals') }} as t
join {{ ref('customers') }} as c on c.customer_id = t.customer_id
group by c.country
