select category_id, category_name, department
from {{ source('raw', 'raw_categories') }}
