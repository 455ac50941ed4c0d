-- Staging: the orders known as of the run's batch date (every order without one).
select
    order_id,
    customer_id,
    upper(trim(sku)) as sku,
    quantity,
    order_date,
    lower(status) as status,
{%- if sagaz_example.injected('etl_transform') %}
    -- injected bug (--vars '{fail: etl_transform}'): a text column cast to a number
    cast(channel as integer) as channel
{%- else %}
    lower(channel) as channel
{%- endif %}
from {{ ref('raw_orders') }}
{%- if sagaz_example.batch_date() %}
where order_date <= {{ sagaz_example.batch_literal() }}
{%- endif %}
