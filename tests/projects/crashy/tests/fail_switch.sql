-- Fails only when the run asks for it: `--vars '{fail_singular: true}'`.
select * from {{ ref('top_accounts') }} where {{ var('fail_singular') }}
