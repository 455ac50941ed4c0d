{{ config(alias='üüüüüüüüüüüüüüüüüüüüüüüüüü') }}
select id, amount - {{ var('day') }} as amount from {{ ref('raw') }}
