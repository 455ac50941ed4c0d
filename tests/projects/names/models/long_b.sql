{{ config(alias='xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxbbbbbbbbbb') }}
select id, amount + {{ var('day') }} as amount, 'b' as side from {{ ref('raw') }}
