-- The legacy orders in the new warehouse's schema: money in currency units, named statuses.
select
    ord_no as order_id,
    cust_no as customer_id,
    cast(ord_dt as date) as ordered_on,
{%- if sagaz_example.injected('migration_checksum') %}
    -- injected bug (--vars '{fail: migration_checksum}'): the cents are lost
    cast(floor(amt_cents / 100.0) as decimal(12, 2)) as amount,
{%- else %}
    cast(amt_cents / 100.0 as decimal(12, 2)) as amount,
{%- endif %}
    curr_cd as currency,
    case status_cd
        when 'N' then 'new'
        when 'S' then 'shipped'
        when 'D' then 'delivered'
        when 'X' then 'cancelled'
    end as status
from {{ ref('legacy_orders') }}
{%- if sagaz_example.injected('migration_rowcount') %}
-- injected bug (--vars '{fail: migration_rowcount}'): a filter that should not be here
where status_cd <> 'X'
{%- endif %}
