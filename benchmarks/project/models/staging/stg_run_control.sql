{{ config(materialized='table') }}
-- The run's price tag, frozen in a table at build time: the staging views read this
-- table (not the raw control row), so a rollback restores what they show.
select tag from {{ source('raw', 'bench_control') }}
