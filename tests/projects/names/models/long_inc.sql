{{ config(materialized='incremental', unique_key='id', alias='xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxiiiiiiiiii') }}
select id, amount * {{ var('day') }} as amount from {{ ref('raw') }}
{% if is_incremental() %} where id >= 2 {% endif %}
