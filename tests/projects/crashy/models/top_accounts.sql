{{ config(materialized='view') }}
select * from {{ ref('account_totals') }} where total > 6
