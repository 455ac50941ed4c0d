-- Order facts: one row per order, priced with the product dimension.
-- Orders whose customer is unknown are kept (left join) so that the relationships test
-- catches them instead of silently dropping revenue.
select
    o.order_id,
    o.order_date,
    o.customer_id,
    o.sku,
    o.quantity,
    p.unit_price,
{%- if sagaz_example.injected('etl_load') %}
    -- injected bug (--vars '{fail: etl_load}'): reads a column renamed upstream
    cast(o.quantity * p.unit_price_eur as decimal(12, 2)) as amount,
{%- else %}
    cast(o.quantity * p.unit_price as decimal(12, 2)) as amount,
{%- endif %}
    o.status,
    o.channel
from {{ ref('stg_orders') }} as o
left join {{ ref('dim_products') }} as p on p.sku = o.sku
