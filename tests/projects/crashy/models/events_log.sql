{{ config(materialized='incremental', unique_key='event_id', incremental_strategy='delete+insert') }}
select event_id, account_id, amount from {{ ref('stg_events') }}
