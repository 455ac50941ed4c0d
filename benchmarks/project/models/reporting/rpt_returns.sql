select store_id, sum(returns) as returns from {{ ref('returns_by_store') }} group by store_id
