{{ config(alias='xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxvvvvvvvvvv', materialized='view') }}
select id, amount, {{ var('day') }} as day from {{ ref('long_a') }}
