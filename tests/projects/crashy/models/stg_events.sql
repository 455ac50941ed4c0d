{{ config(materialized='view') }}
select event_id, account_id, amount from {{ ref('events') }}
