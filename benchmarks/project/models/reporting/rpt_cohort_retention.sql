select cohort_month, order_month, customers, revenue from {{ ref('customer_cohorts') }}
