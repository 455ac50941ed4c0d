{{ config(materialized='view') }}
select customer_id, name, total from {{ ref('customer_totals') }} where total > 10
