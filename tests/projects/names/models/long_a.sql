{{ config(alias='xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxaaaaaaaaaa') }}
select id, amount * {{ var('day') }} as amount from {{ ref('raw') }}
