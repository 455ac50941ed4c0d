{{ config(materialized='view') }}
select id, region, amount from {{ ref('orders') }}
