{#-
  DuckDB (dbt-duckdb): the body of every operation the package dispatches
  (`adapter.dispatch('X', 'sagaz_dbt')` finds `duckdb__X`).  Each operation's public
  wrapper, its `default__` (which raises) and what it means live in the file each section
  names.

  What makes DuckDB DuckDB here: DDL is transactional; views bind to names; there is no
  ALTER ... SET SCHEMA (kept relations stay in their schema, copies are copied across);
  dbt-duckdb drops a table's indexes before renaming it and rebuilds a table with foreign
  keys in place; the catalog is read through duckdb_tables() / duckdb_views() /
  duckdb_indexes().
-#}


{#- ---- naming.sql ---- -#}

{% macro duckdb__identifier_byte_limit() -%}
  {{- return(none) -}}
{%- endmacro %}

{% macro duckdb__moves_relations_across_schemas() -%}
  {{- return(false) -}}
{%- endmacro %}


{#- ---- literals.sql ---- -#}

{% macro duckdb__sql_string(value) -%}
  {%- set text = value | string -%}
  {%- if "\x00" in text -%}{%- do sagaz_dbt.sql_string_text(value) -%}{%- endif -%}
  {{- return("'" ~ (text | replace("'", "''")) ~ "'") -}}
{%- endmacro %}


{#- ---- lookup.sql ---- -#}

{% macro duckdb__unquoted_identifier_case() -%}
  {#- DuckDB keeps the case as written (and matches names case-insensitively: names_fold_case). -#}
  {{- return(none) -}}
{%- endmacro %}

{% macro duckdb__names_fold_case() -%}
  {{- return(true) -}}
{%- endmacro %}

{% macro duckdb__columns_of_relations(relations) -%}
  {#- What dbt-duckdb's get_columns_in_relation reads (DESCRIBE: the same type strings as
      duckdb_columns()), for many relations at once; names match case-insensitively, as
      DuckDB does. -#}
  {%- set wanted = [] -%}
  {%- for r in relations -%}
    {%- do wanted.append('(' ~ loop.index0 ~ ', ' ~ sagaz_dbt.duckdb__sql_string(r.database) ~ ', ' ~ sagaz_dbt.duckdb__sql_string(r.schema)
                         ~ ', ' ~ sagaz_dbt.duckdb__sql_string(r.identifier) ~ ')') -%}
  {%- endfor -%}
  {%- set sql -%}
    with sagaz_wanted(i, d, s, t) as (values {{ wanted | join(', ') }})
    select w.i, c.column_name, c.data_type, cast(null as bigint), cast(null as bigint), cast(null as bigint)
    from sagaz_wanted w
    join duckdb_columns() c
      on lower(c.database_name) = lower(w.d) and lower(c.schema_name) = lower(w.s) and lower(c.table_name) = lower(w.t)
    order by w.i, c.column_index
  {%- endset -%}
  {{- return(sagaz_dbt.columns_by_index(run_query(sql).rows)) -}}
{%- endmacro %}

{% macro duckdb__list_schema_relations(database, schema, memo) -%}
  {%- if memo is not none and memo.get('whole_catalog') -%}
    {#- duckdb_tables() and duckdb_views() build a row for every relation of every attached
        database whatever the filter (4 ms each at 2,000 relations): a phase lists the
        whole database once, and every schema's lookup reads from that. -#}
    {%- set slot = ('duckdb_catalog', database | lower) -%}
    {%- if slot not in memo -%}
      {%- set sql -%}
        select schema_name, table_name, 'table' from duckdb_tables()
        where lower(database_name) = lower({{ sagaz_dbt.duckdb__sql_string(database) }}) and not temporary
        union all
        select schema_name, view_name, 'view' from duckdb_views()
        where lower(database_name) = lower({{ sagaz_dbt.duckdb__sql_string(database) }}) and not temporary and not internal
      {%- endset -%}
      {%- set by_schema = {} -%}
      {%- for row in run_query(sql).rows -%}
        {%- do by_schema.setdefault(row[0], []).append((row[1], row[2])) -%}
      {%- endfor -%}
      {%- do memo.update({slot: by_schema}) -%}
    {%- endif -%}
    {%- set by_schema = memo[slot] -%}
    {%- if schema in by_schema -%}
      {{- return(by_schema[schema]) -}}
    {%- endif -%}
    {#- DuckDB matches schema names case-insensitively (it refuses case twins). -#}
    {%- for name, rows in by_schema.items() if (name | lower) == (schema | lower) -%}
      {{- return(rows) -}}
    {%- endfor -%}
    {{- return([]) -}}
  {%- endif -%}
  {%- set sql -%}
    select table_name, 'table' from duckdb_tables()
    where lower(database_name) = lower({{ sagaz_dbt.duckdb__sql_string(database) }})
      and lower(schema_name) = lower({{ sagaz_dbt.duckdb__sql_string(schema) }}) and not temporary
    union all
    select view_name, 'view' from duckdb_views()
    where lower(database_name) = lower({{ sagaz_dbt.duckdb__sql_string(database) }})
      and lower(schema_name) = lower({{ sagaz_dbt.duckdb__sql_string(schema) }}) and not temporary and not internal
  {%- endset -%}
  {{- return(run_query(sql).rows) -}}
{%- endmacro %}


{#- ---- script.sql ---- -#}

{% macro duckdb__rename_sql(from_relation, to_relation) -%}
  {#- As dbt-duckdb renames: DuckDB wants ALTER VIEW for a view. -#}
  alter {{ from_relation.type }} {{ from_relation.render() }} rename to {{ adapter.quote_as_configured(to_relation.identifier, 'identifier') }}
{%- endmacro %}

{% macro duckdb__set_schema_sql(relation, schema) -%}
  {#- DuckDB has no ALTER ... SET SCHEMA: its kept relations stay in place, or are copied
      (vars.sagaz.isolate_backups); nothing asks it to move one. -#}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: DuckDB cannot move " ~ relation ~ " to another schema") -%}
{%- endmacro %}


{#- ---- phases/arm.sql ---- -#}

{% macro duckdb__index_ddl_by_table(steps) -%}
  {#- dbt-duckdb drops a table's indexes before renaming it (DuckDB refuses to rename an
      indexed table), so the kept backup has none: remember them to rebuild on restore.
      One catalog query for the whole run, keyed by table_key. -#}
  {%- if not steps -%}
    {{- return({}) -}}
  {%- endif -%}
  {%- set databases = steps | map(attribute='database') | unique | list -%}
  {%- set schemas = steps | map(attribute='schema') | unique | list -%}
  {%- set sql -%}
    select lower(database_name || '.' || schema_name || '.' || table_name) as table_key, sql
    from duckdb_indexes()
    where database_name in ({% for d in databases %}{{ sagaz_dbt.duckdb__sql_string(d) }}{{ ', ' if not loop.last }}{% endfor %})
      and schema_name in ({% for s in schemas %}{{ sagaz_dbt.duckdb__sql_string(s) }}{{ ', ' if not loop.last }}{% endfor %})
      and sql is not null
    order by table_key, index_name
  {%- endset -%}
  {%- set out = {} -%}
  {%- for row in run_query(sql).rows -%}
    {%- do out.setdefault(row[0], []).append(row[1]) -%}
  {%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}

{% macro duckdb__view_ddl(relation) -%}
  {%- set sql -%}
    select sql from duckdb_views()
    where database_name = {{ sagaz_dbt.duckdb__sql_string(relation.database) }}
      and schema_name = {{ sagaz_dbt.duckdb__sql_string(relation.schema) }}
      and view_name = {{ sagaz_dbt.duckdb__sql_string(relation.identifier) }}
  {%- endset -%}
  {{- return(run_query(sql).columns[0].values()[0]) -}}
{%- endmacro %}

{% macro duckdb__table_ddl(relation) -%}
  {%- set sql -%}
    select sql from duckdb_tables()
    where database_name = {{ sagaz_dbt.duckdb__sql_string(relation.database) }}
      and schema_name = {{ sagaz_dbt.duckdb__sql_string(relation.schema) }}
      and table_name = {{ sagaz_dbt.duckdb__sql_string(relation.identifier) }}
  {%- endset -%}
  {{- return(run_query(sql).columns[0].values()[0]) -}}
{%- endmacro %}

{% macro duckdb__rebuilt_in_place(relation) -%}
  {#- dbt-duckdb drops and recreates a table with foreign keys instead of swapping it. -#}
  {{- return('foreign_key' in adapter.existing_key_constraint_types(relation)) -}}
{%- endmacro %}


{#- ---- phases/release.sql ---- -#}

{% macro duckdb__dependent_views_of(database, pairs) -%}
  {#- DuckDB binds views by name: none follows a renamed table, none needs re-pointing. -#}
  {{- return([]) -}}
{%- endmacro %}


{#- ---- phases/restore.sql ---- -#}

{% macro duckdb__drop_empty_schema(schema_relation) -%}
  drop schema {{ schema_relation }}
{%- endmacro %}


{#- ---- phases/isolation.sql ---- -#}

{% macro duckdb__shadow_view_definitions(database, schema, identifiers) -%}
  {%- if not identifiers -%}{{- return({}) -}}{%- endif -%}
  {%- set names = [] -%}
  {%- for i in identifiers -%}{%- do names.append(sagaz_dbt.duckdb__sql_string(i)) -%}{%- endfor -%}
  {%- set sql -%}
    select view_name, sql from duckdb_views()
    where database_name = {{ sagaz_dbt.duckdb__sql_string(database) }} and schema_name = {{ sagaz_dbt.duckdb__sql_string(schema) }}
      and view_name in ({{ names | join(', ') }})
  {%- endset -%}
  {%- set out = {} -%}
  {%- for row in run_query(sql).rows -%}
    {%- do out.update({row[0]: row[1]}) -%}
  {%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}


{#- ---- backups/rows.sql ---- -#}

{% macro duckdb__analyze_keys(relation) -%}
  {#- DuckDB plans without collected statistics: nothing to do. -#}
{%- endmacro %}

{% macro duckdb__drop_added_columns(relation, columns, step, script) -%}
  {#- DuckDB adds a column to a table that has a secondary index, but drops none ("Cannot
      alter entry ... because there are entries that depend on it"): drop the indexes first,
      then recreate the pre-run ones, before any row is deleted or re-inserted (a unique
      index created after a delete and re-insert of the same key fails at commit). -#}
  {%- set sql -%}
    select index_name from duckdb_indexes()
    where database_name = {{ sagaz_dbt.duckdb__sql_string(relation.database) }}
      and schema_name = {{ sagaz_dbt.duckdb__sql_string(relation.schema) }}
      and table_name = {{ sagaz_dbt.duckdb__sql_string(relation.identifier) }}
    order by index_name
  {%- endset -%}
  {%- set names = run_query(sql).columns[0].values() | list -%}
  {%- for name in names -%}
    {%- set index = api.Relation.create(database=relation.database, schema=relation.schema, identifier=name) -%}
    {%- do script.append('drop index ' ~ index) -%}
  {%- endfor -%}
  {%- do sagaz_dbt.queue_drop_columns(relation, columns, script) -%}
  {%- if names -%}
    {%- do sagaz_dbt.recreate_indexes(step, script) -%}
  {%- endif -%}
{%- endmacro %}


{#- ---- backups/matviews.sql ---- -#}

{% macro duckdb__keep_materialized_view(kept_identifier) -%}
  {#- dbt-duckdb has no materialized views: the hook is never injected there. -#}
  {{- return('') -}}
{%- endmacro %}

{% macro duckdb__relation_index_ddl(relation) -%}
  {#- Only asked for materialized views, which DuckDB does not have. -#}
  {{- return(none) -}}
{%- endmacro %}


{#- ---- backups/temporaries.sql ---- -#}

{% macro duckdb__dbt_temporaries(steps) -%}
  {%- if not steps -%}
    {{- return([]) -}}
  {%- endif -%}
  {%- set databases = steps | map(attribute='database') | unique | list -%}
  {%- set sql -%}
    select database_name, schema_name, table_name,
           regexp_extract(table_name, '^(.*)__dbt_tmp[0-9]{20}$', 1) as base
    from duckdb_tables()
    where not temporary
      and database_name in ({% for d in databases %}{{ sagaz_dbt.duckdb__sql_string(d) }}{{ ', ' if not loop.last }}{% endfor %})
      and regexp_matches(table_name, '__dbt_tmp[0-9]{20}$')
    order by 1, 2, 3
  {%- endset -%}
  {%- set owners = [] -%}
  {%- for step in steps -%}
    {%- do owners.append((step.database ~ '.' ~ step.identifier) | lower) -%}
  {%- endfor -%}
  {%- set out = [] -%}
  {%- for row in run_query(sql).rows -%}
    {%- if ((row[0] ~ '.' ~ row[3]) | lower) in owners -%}
      {%- do out.append([row[0], row[1], row[2]]) -%}
    {%- endif -%}
  {%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}


{#- ---- backups/fingerprint.sql ---- -#}

{% macro duckdb__fingerprint_sql(database, schema, identifier, is_view) -%}
  {%- if is_view -%}
    select {{ sagaz_dbt.duckdb__view_id_sql('duckdb_views') }} from duckdb_views()
    where database_name = {{ sagaz_dbt.duckdb__sql_string(database) }} and schema_name = {{ sagaz_dbt.duckdb__sql_string(schema) }}
      and view_name = {{ sagaz_dbt.duckdb__sql_string(identifier) }}
  {%- else -%}
    {%- set relation = api.Relation.create(database=database, schema=schema, identifier=identifier, type='table') -%}
    select '{"id": "table-columns:' || c.m || ':' || r.n::varchar || ':' || r.h::varchar || '"}'
    from (select md5(to_json(list([name, type, "notnull"::varchar, dflt_value, pk::varchar] order by cid))::varchar) as m
          from pragma_table_info({{ sagaz_dbt.duckdb__sql_string(relation.render()) }})) c,
         {{ sagaz_dbt.duckdb__row_hash_sql(relation) }} r
  {%- endif -%}
{%- endmacro %}

{% macro duckdb__fingerprints_sql(entries) -%}
  {#- Tables one part each (union_fingerprints_sql: their rows are read anyway); every view from
      ONE scan of duckdb_views(), which builds every view's SQL text whatever the filter
      (~7 ms at 2,000 relations): one part per view made arming quadratic in the views. -#}
  {%- set tables = [] -%}
  {%- set views = [] -%}
  {%- for e in entries -%}
    {%- do (views if e.is_view else tables).append(e) -%}
  {%- endfor -%}
  {%- set parts = [sagaz_dbt.union_fingerprints_sql(tables)] if tables else [] -%}
  {%- if views -%}
    {%- set rows = [] -%}
    {%- for e in views -%}
      {%- do rows.append('(' ~ (e.i | int) ~ ', ' ~ sagaz_dbt.duckdb__sql_string(e.database) ~ ', '
            ~ sagaz_dbt.duckdb__sql_string(e.schema) ~ ', ' ~ sagaz_dbt.duckdb__sql_string(e.identifier) ~ ')') -%}
    {%- endfor -%}
    {%- set part -%}
      select w.sagaz_i, {{ sagaz_dbt.duckdb__view_id_sql('d') }} as f
      from duckdb_views() d
      join (values {{ rows | join(', ') }}) as w (sagaz_i, database_name, schema_name, view_name)
        on d.database_name = w.database_name and d.schema_name = w.schema_name and d.view_name = w.view_name
    {%- endset -%}
    {%- do parts.append(part) -%}
  {%- endif -%}
  {{- return(parts | join('\nunion all\n')) -}}
{%- endmacro %}

{% macro duckdb__view_id_sql(alias) -%}
  {#- A view's fingerprint from its duckdb_views() row `alias`: the one- and many-relation
      forms must give the same text, or recovery would refuse an untouched view. -#}
  '{"id": "view:' || md5({{ alias }}.sql) || '"}'
{%- endmacro %}

{% macro duckdb__row_hash_sql(relation) -%}
  {#- A table's content, order-independent: (n, h) = its row count and its rows' hash sum. -#}
  (select count(*) as n, coalesce(sum(hash(sagaz_fp_row)), 0) as h from {{ relation }} as sagaz_fp_row)
{%- endmacro %}

{% macro duckdb__ddl_fingerprint_sql(relation) -%}
  {#- The table fingerprint of earlier sagaz-dbt versions (its DDL's md5 from duckdb_tables()),
      for the runs it armed: "table:<md5>:<rows>:<hash>". -#}
  select '{"id": "table:' || md5(t.sql) || ':' || r.n::varchar || ':' || r.h::varchar || '"}'
  from duckdb_tables() t, {{ sagaz_dbt.duckdb__row_hash_sql(relation) }} r
  where t.database_name = {{ sagaz_dbt.duckdb__sql_string(relation.database) }}
    and t.schema_name = {{ sagaz_dbt.duckdb__sql_string(relation.schema) }}
    and t.table_name = {{ sagaz_dbt.duckdb__sql_string(relation.identifier) }}
{%- endmacro %}

{% macro duckdb__fingerprint_matches(relation, recorded, now) -%}
  {%- if recorded.id == now.get('id') -%}
    {{- return(true) -}}
  {%- endif -%}
  {%- if recorded.id.startswith('table:') and not relation.is_view -%}  {#- armed by an earlier version -#}
    {%- if 'ddl_id' not in now -%}  {#- once per relation: the mark and the armed entry may both be old -#}
      {%- set rows = run_query(sagaz_dbt.duckdb__ddl_fingerprint_sql(relation)).rows -%}
      {%- do now.update({'ddl_id': fromjson(rows[0][0]).id if rows | length > 0 else none}) -%}
    {%- endif -%}
    {{- return(now.ddl_id == recorded.id) -}}
  {%- endif -%}
  {{- return(false) -}}
{%- endmacro %}

{% macro duckdb__fingerprint_still_holds(relation, recorded) -%}
  {#- DuckDB's fingerprint id is the content itself: an equal id is all there is to check. -#}
  {{- return(true) -}}
{%- endmacro %}


{#- ---- journal/journal.sql ---- -#}

{% macro duckdb__create_journal_schema(schema_relation) -%}
  create schema if not exists {{ schema_relation }}
{%- endmacro %}

{% macro duckdb__journal_table_sql(relation, columns) -%}
  {{- return(sagaz_dbt.standard_journal_table_sql(relation, columns)) -}}
{%- endmacro %}

{% macro duckdb__journal_add_column_sql(relation, name, type, if_not_exists) -%}
  {{- return(sagaz_dbt.standard_add_column_sql(relation, name, type, if_not_exists)) -}}
{%- endmacro %}


{#- ---- journal/ownership.sql ---- -#}

{% macro duckdb__db_epoch() -%}
  {{- return("epoch(current_timestamp)::double") -}}
{%- endmacro %}


{#- ---- overrides/relations.sql ---- -#}

{% macro duckdb__drop_or_keep(relation) -%}
  {#- DuckDB binds views by name: no view follows a dropped seed's identity; the seed is copied. -#}
  {{- return(adapter.dispatch('drop_relation', 'dbt')(relation)) -}}
{%- endmacro %}

{% macro duckdb__backup_partitions(partition_columns, copy_identifier, keys_identifier, nondeterministic) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: backup_partitions is not used on duckdb (rows are restored by key: DELETE works)") -%}
{%- endmacro %}
