select * from {{ ref('mart_by_id') }} where amount < 0
