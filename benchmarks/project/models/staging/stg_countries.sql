select country_code, country_name, region, currency from {{ ref('countries') }}
