{{ config(materialized='table') }}
select region, sum(amount) as total from {{ ref('stg_orders') }} group by region
