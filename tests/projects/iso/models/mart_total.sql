{{ config(materialized='view') }}
select sum(total) as total from {{ ref('mart_by_region') }}
