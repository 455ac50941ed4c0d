-- The trusted sales: every rule holds.  The contract (schema rules) is enforced by dbt.
select
    cast(sale_id as integer) as sale_id,
    cast(customer_id as integer) as customer_id,
    cast(sku as varchar(32)) as sku,
    cast(quantity as integer) as quantity,
    cast(unit_price as decimal(10, 2)) as unit_price,
    cast(quantity * unit_price as decimal(12, 2)) as amount,
    cast(sale_date as date) as sale_date,
    cast(region as varchar(16)) as region
from {{ ref('int_sales_checked') }}
where rejection_reason is null
