-- Fails (returns rows) when --vars '{fail: true}'; runs after every model.
select * from {{ ref('long_b') }} join {{ ref('umlaut') }} using (id) join {{ ref('long_view') }} using (id)
where {{ 'true' if var('fail') else 'false' }}
