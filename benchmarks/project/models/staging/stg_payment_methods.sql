select method, settlement from {{ ref('payment_methods') }}
