-- The post-load gate: if the quarantine holds more than 10% of the delivery, the load is
-- not trusted and sagaz-dbt rolls it back (fct_sales and sales_quarantine included).
-- The ratio is in basis points; above 5% it warns.
{{ config(fail_calc='coalesce(max(quarantine_ratio_bp), 0)', warn_if='>500', error_if='>1000') }}
select
    cast(round(10000.0 * q.n / nullif(s.n, 0)) as integer) as quarantine_ratio_bp,
    q.n as quarantined_rows,
    s.n as delivered_rows
from (select count(*) as n from {{ ref('sales_quarantine') }}) as q
cross join (select count(*) as n from {{ ref('stg_sales') }}) as s
