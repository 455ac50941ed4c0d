select date_day, week_start, month_start, day_of_week, day_of_week in (0, 6) as is_weekend
from {{ ref('stg_dates') }}
