{{ config(materialized='ephemeral') }}
-- Every staged sale with the first business rule it breaks (null when it breaks none).
-- The quarantine takes the rows with a reason, the fact table the rows without.
select
    s.*,
    case
        when s.delivery_no > 1 then 'duplicate delivery'
        when s.customer_id is null then 'missing customer_id'
        when s.quantity is null or s.quantity <= 0 then 'quantity must be positive'
        when s.unit_price is null or s.unit_price <= 0 then 'unit_price must be positive'
        when s.region is null or s.region not in ('north', 'south', 'east', 'west') then 'unknown region'
    end as rejection_reason
from {{ ref('stg_sales') }} as s
