{#- After the model.  Fails with --vars '{fail_singular: true}'. -#}
select count(*) as n from {{ ref('events_by_day') }}
having count(*) = 0 {% if var('fail_singular') %}or true{% endif %}
