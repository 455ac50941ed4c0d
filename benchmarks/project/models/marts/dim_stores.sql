select s.store_id, s.store_name, s.country_code, k.region, k.currency, s.opened_date
from {{ ref('stg_stores') }} as s
left join {{ ref('stg_countries') }} as k on k.country_code = s.country_code
