select segment, sum(customers) as customers, sum(revenue) as revenue from {{ ref('customer_segments') }} group by segment
