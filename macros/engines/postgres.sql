{#-
  Postgres (dbt-postgres): the body of every operation the package dispatches
  (`adapter.dispatch('X', 'sagaz_dbt')` finds `postgres__X`), and the Postgres-only
  helpers they call by name.  Each operation's public wrapper, its `default__` (which
  raises) and what it means live in the file each section names.

  What makes Postgres Postgres here: DDL is transactional, so a whole phase is one
  transaction; views bind to their relation's OID (a renamed table takes its views along,
  ALTER ... SET SCHEMA moves a backup without copying it); identifiers are cut at 63 bytes;
  string literals are E'...' whatever the session's standard_conforming_strings.
-#}


{#- ---- naming.sql ---- -#}

{% macro postgres__identifier_byte_limit() -%}
  {{- return(63) -}}
{%- endmacro %}

{% macro postgres__moves_relations_across_schemas() -%}
  {{- return(true) -}}
{%- endmacro %}


{#- ---- literals.sql ---- -#}

{% macro postgres__sql_string(value) -%}
  {%- set text = value | string -%}
  {%- if "\x00" in text -%}{%- do sagaz_dbt.sql_string_text(value) -%}{%- endif -%}
  {{- return("E'" ~ (text | replace("\\", "\\\\") | replace("'", "''")) ~ "'") -}}
{%- endmacro %}


{#- ---- lookup.sql ---- -#}

{% macro postgres__unquoted_identifier_case() -%}
  {#- Postgres folds an unquoted identifier to lower case and keeps a quoted one as is. -#}
  {{- return('lower') -}}
{%- endmacro %}

{% macro postgres__names_fold_case() -%}
  {{- return(false) -}}
{%- endmacro %}

{% macro postgres__list_schema_relations(database, schema, memo) -%}
  {#- `schema`'s relations, listed with every schema the phase wants (lookup.sql
      want_schemas) and has not read yet, in one query; records which of them exist, so
      schema_exists asks nothing more.  Without a memo: just `schema`. -#}
  {%- set memo = {} if memo is none else memo -%}
  {%- set listing = memo.setdefault(('pg_listing', database | lower), {}) -%}
  {%- set present = memo.setdefault(('schemas_present', database | lower), {}) -%}
  {%- set name = sagaz_dbt.catalog_identifier(schema, 'schema', memo) -%}
  {%- if name not in listing -%}
    {%- set names = [name] -%}
    {%- for wanted in memo.get('wanted', {}).get(database | lower, []) -%}
      {%- set other = sagaz_dbt.catalog_identifier(wanted, 'schema', memo) -%}
      {%- if other not in listing and other not in names -%}{%- do names.append(other) -%}{%- endif -%}
    {%- endfor -%}
    {%- set literals = [] -%}
    {%- for n in names -%}
      {%- do literals.append(sagaz_dbt.postgres__sql_string(n)) -%}
      {%- do listing.update({n: []}) -%}
      {%- do present.update({n: false}) -%}
    {%- endfor -%}
    {%- set sql -%}
      select n.nspname::text, c.relname::text,
             case c.relkind when 'v' then 'view' when 'm' then 'materialized_view' else 'table' end
      from pg_namespace n
      left join pg_class c on c.relnamespace = n.oid and c.relkind in ('r', 'p', 'v', 'm', 'f')
      where n.nspname in ({{ literals | join(', ') }})
    {%- endset -%}
    {%- for row in run_query(sql).rows -%}
      {%- do present.update({row[0]: true}) -%}
      {%- if row[1] is not none -%}
        {%- do listing[row[0]].append((row[1], row[2])) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
  {{- return(listing[name]) -}}
{%- endmacro %}


{% macro postgres__columns_of_relations(relations) -%}
  {#- The columns dbt-postgres's get_columns_in_relation reads (information_schema.columns,
      so the same privileges apply), for many relations at once. -#}
  {%- set wanted = [] -%}
  {%- for r in relations -%}
    {%- do wanted.append('(' ~ loop.index0 ~ ', ' ~ sagaz_dbt.postgres__sql_string(r.schema) ~ ', ' ~ sagaz_dbt.postgres__sql_string(r.identifier) ~ ')') -%}
  {%- endfor -%}
  {%- set sql -%}
    with sagaz_wanted(i, s, t) as (values {{ wanted | join(', ') }})
    select w.i, c.column_name, c.data_type, c.character_maximum_length, c.numeric_precision, c.numeric_scale
    from sagaz_wanted w
    join information_schema.columns c on c.table_schema = w.s and c.table_name = w.t
    order by w.i, c.ordinal_position
  {%- endset -%}
  {{- return(sagaz_dbt.columns_by_index(run_query(sql).rows)) -}}
{%- endmacro %}


{#- ---- script.sql ---- -#}

{% macro postgres__rename_sql(from_relation, to_relation) -%}
  {#- As dbt-postgres renames (ALTER TABLE renames views too). -#}
  alter table {{ from_relation.render() }} rename to {{ adapter.quote_as_configured(to_relation.identifier, 'identifier') }}
{%- endmacro %}

{% macro postgres__set_schema_sql(relation, schema) -%}
  {#- O(1) and transactional; the relation keeps its OID (views bound to it follow), and its
      indexes, constraints and owned sequences move with it. -#}
  {%- set kind = 'materialized view' if relation.is_materialized_view else ('view' if relation.is_view else 'table') -%}
  {#- `schema` as dbt renders it: its catalog name (folded when the project does not quote
      schemas), quoted exactly. -#}
  {{- return('alter ' ~ kind ~ ' ' ~ relation.render() ~ ' set schema ' ~ adapter.quote(sagaz_dbt.catalog_identifier(schema, 'schema'))) -}}
{%- endmacro %}


{#- ---- phases/arm.sql ---- -#}

{% macro postgres__index_ddl_by_table(steps) -%}
  {#- Postgres indexes stay attached to a renamed table, so a swap back keeps them. -#}
  {{- return({}) -}}
{%- endmacro %}

{% macro postgres__view_ddl(relation) -%}
  {#- Never asked: arm_step records a view's DDL only where a kept view cannot leave the
      user's schema (postgres__moves_relations_across_schemas is true: it moves to the
      backup schema, keeping its OID, grants and dependants).  No untested SQL stands here. -#}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: view_ddl is not used on postgres (a kept view moves to the backup schema)") -%}
{%- endmacro %}

{% macro postgres__table_ddl(relation) -%}
  {#- Never asked: dbt-postgres rebuilds no table in place (postgres__rebuilt_in_place). -#}
  {{- return(none) -}}
{%- endmacro %}

{% macro postgres__rebuilt_in_place(relation) -%}
  {{- return(false) -}}
{%- endmacro %}


{#- ---- phases/release.sql ---- -#}

{% macro postgres__dependent_views_of(database, pairs) -%}
  {%- set rows = [] -%}
  {%- set memo = {} -%}
  {%- set wanted = [] -%}
  {%- for p in pairs -%}
    {%- do wanted.extend([(database, p.schema), (database, p.get('target_schema'))]) -%}
  {%- endfor -%}
  {%- do sagaz_dbt.want_schemas(memo, wanted) -%}
  {%- for p in pairs -%}
    {%- set rel = sagaz_dbt.find_relation(database, p.schema, p.identifier, memo) -%}
    {%- if rel is not none and sagaz_dbt.find_relation(database, p.get('target_schema') or p.schema, p.target, memo) is not none -%}
      {%- do rows.append('(' ~ p.seq ~ ', ' ~ sagaz_dbt.postgres__sql_string(rel.render()) ~ '::regclass::oid)') -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if not rows -%}
    {{- return([]) -}}
  {%- endif -%}
  {%- set sql -%}
    with sagaz_pairs(seq, relid) as (values {{ rows | join(', ') }})
    select distinct p.seq, dep_ns.nspname as view_schema, dep.relname as view_name, dep.relkind::text as kind,
           pg_get_viewdef(dep.oid) as definition
    from sagaz_pairs p
    join pg_depend d on d.refobjid = p.relid and d.classid = 'pg_rewrite'::regclass
    join pg_rewrite r on r.oid = d.objid
    join pg_class dep on dep.oid = r.ev_class
    join pg_namespace dep_ns on dep_ns.oid = dep.relnamespace
    where dep.oid <> d.refobjid
    order by 1, 2, 3
  {%- endset -%}
  {%- set out = [] -%}
  {%- for row in run_query(sql).rows -%}
    {%- do out.append({'seq': row[0], 'schema': row[1], 'name': row[2], 'kind': row[3], 'definition': row[4]}) -%}
  {%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}


{#- ---- phases/restore.sql ---- -#}

{% macro postgres__drop_empty_schema(schema_relation) -%}
  drop schema {{ schema_relation.include(database=False) }}
{%- endmacro %}


{#- ---- phases/isolation.sql ---- -#}

{% macro postgres__shadow_view_definitions(database, schema, identifiers) -%}
  {#- Postgres views bind to OIDs: a published view follows the renamed shadows by itself,
      so none is re-created (isolation.py asks only engines whose views bind by name). -#}
  {{- return({}) -}}
{%- endmacro %}


{#- ---- backups/rows.sql ---- -#}

{% macro postgres__analyze_keys(relation) -%}
  {#- A table created a moment ago has no statistics: Postgres would guess thousands of
      keys and scan the whole target instead of using its index for the one partition the
      batch holds.  ANALYZE of a few rows costs a millisecond, and is allowed in a
      transaction; the restore reads the same (committed) statistics. -#}
  {%- call statement('sagaz_analyze_keys', auto_begin=True) -%}
    analyze {{ relation }}
  {%- endcall -%}
{%- endmacro %}

{% macro postgres__drop_added_columns(relation, columns, step, script) -%}
  {%- do sagaz_dbt.queue_drop_columns(relation, columns, script) -%}
{%- endmacro %}


{#- ---- backups/matviews.sql ---- -#}

{% macro postgres__keep_materialized_view(kept_identifier) -%}
  {%- if not sagaz_dbt.is_armed() -%}
    {{- return('') -}}
  {%- endif -%}
  {%- set existing = load_cached_relation(this) -%}
  {%- if existing is none -%}
    {{- return('') -}}  {#- a first build creates it: the step records "created" -#}
  {%- endif -%}
  {%- set renamed = existing.incorporate(path={'identifier': kept_identifier}) -%}
  {%- set kept = sagaz_dbt.kept_home(renamed) -%}
  {%- set target = this.incorporate(type=this.MaterializedView) -%}
  {%- set replacing = should_full_refresh() or not existing.is_materialized_view -%}
  {%- if not replacing -%}
    {%- set changes = get_materialized_view_configuration_changes(existing, config) -%}
    {%- if changes is not none and config.get('on_configuration_change') == 'apply' -%}
      {%- if changes.requires_full_refresh -%}
        {%- set replacing = true -%}
      {%- else -%}
        {#- dbt drops and creates indexes by name on the view in place, without refreshing
            it: its rows stay, and a rollback puts back the index definitions recorded
            while arming (restore_materialized_view_indexes). -#}
        {{- return('') -}}
      {%- endif -%}
    {%- endif -%}
  {%- endif -%}
  {#- A refresh keeps the view's owner, grants and comment: so does the fresh view. -#}
  {%- set privileges = [] if replacing else sagaz_dbt.postgres__privileges_ddl(existing) -%}
  {%- call statement('sagaz_keep_materialized_view', auto_begin=True) -%}
    {{ get_rename_sql(existing, kept_identifier) }}
  {%- endcall -%}
  {%- do sagaz_dbt.move_kept(renamed, kept) -%}
  {%- do adapter.cache_renamed(existing, kept) -%}
  {{- log("sagaz-dbt: keeping " ~ existing ~ " as " ~ kept) -}}
  {%- call statement('sagaz_materialized_view_stand_in', auto_begin=True) -%}
    {%- if replacing -%}
      {{ sagaz_dbt.postgres__stand_in_sql(existing) }}
    {%- else -%}
      {#- Empty: dbt's own refresh, next in this transaction, fills it. -#}
      create materialized view {{ target }} as
      {{ model.compiled_code }}
      with no data;
      {% for index in config.get('indexes', []) -%}
        {{ get_create_index_sql(target, index) }};
      {%- endfor %}
      {% for ddl in privileges -%}{{ ddl }};{%- endfor %}
    {%- endif -%}
  {%- endcall -%}
  {{- return('') -}}
{%- endmacro %}

{% macro postgres__stand_in_sql(existing) -%}
  {#- A relation of the pre-run type, for dbt's replace to rename to __dbt_backup and drop. -#}
  {%- if existing.is_materialized_view -%}
    create materialized view {{ existing }} as select 1 as sagaz_stand_in with no data
  {%- elif existing.is_view -%}
    create view {{ existing }} as select 1 as sagaz_stand_in
  {%- else -%}
    create table {{ existing }} (sagaz_stand_in integer)
  {%- endif -%}
{%- endmacro %}

{% macro postgres__dependants_of(relation) -%}
  {#- Every view and materialized view reading `relation`, directly or through others,
      each after everything of the set it reads (ordered by its deepest path). -#}
  {%- set sql -%}
    with recursive deps(oid, depth) as (
      select r.ev_class, 1 from pg_depend d join pg_rewrite r on r.oid = d.objid
      where d.classid = 'pg_rewrite'::regclass
        and d.refobjid = {{ sagaz_dbt.postgres__sql_string(relation.render()) }}::regclass
        and r.ev_class <> d.refobjid
      union all
      select r.ev_class, deps.depth + 1 from deps
      join pg_depend d on d.refobjid = deps.oid and d.classid = 'pg_rewrite'::regclass
      join pg_rewrite r on r.oid = d.objid
      where r.ev_class <> deps.oid and deps.depth < 100
    )
    select n.nspname, c.relname, c.relkind::text, pg_get_viewdef(c.oid)
    from deps join pg_class c on c.oid = deps.oid join pg_namespace n on n.oid = c.relnamespace
    group by c.oid, n.nspname, c.relname, c.relkind
    order by max(deps.depth), 1, 2
  {%- endset -%}
  {%- set out = [] -%}
  {%- for row in run_query(sql).rows -%}
    {%- set indexes = [] -%}
    {%- set rel = api.Relation.create(database=relation.database, schema=row[0], identifier=row[1],
                                      type='materialized_view' if row[2] == 'm' else 'view') -%}
    {%- if row[2] == 'm' -%}
      {%- for index in sagaz_dbt.relation_index_ddl(rel) -%}{%- do indexes.append(index[1]) -%}{%- endfor -%}
    {%- endif -%}
    {%- do out.append({'schema': row[0], 'name': row[1], 'kind': row[2], 'definition': row[3], 'indexes': indexes,
                       'privileges': sagaz_dbt.postgres__privileges_ddl(rel)}) -%}
  {%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}

{% macro postgres__relation_index_ddl(relation) -%}
  {%- set sql -%}
    select c.relname, pg_get_indexdef(i.indexrelid) from pg_index i join pg_class c on c.oid = i.indexrelid
    where i.indrelid = {{ sagaz_dbt.postgres__sql_string(relation.render()) }}::regclass order by c.relname
  {%- endset -%}
  {%- set out = [] -%}
  {%- for row in run_query(sql).rows -%}{%- do out.append([row[0], row[1]]) -%}{%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}

{% macro postgres__privileges_ddl(relation) -%}
  {#- What makes a re-created view the same to its users: its owner, its grants (from its
      ACL; grantee 0 is PUBLIC) and its comment, as statements to replay after CREATE.
      Role names and the comment are quoted by the catalog (quote_ident, quote_literal). -#}
  {%- set kind = 'materialized view' if relation.is_materialized_view else 'view' -%}
  {%- set sql -%}
    with rel as (select {{ sagaz_dbt.postgres__sql_string(relation.render()) }}::regclass as oid)
    select 'alter {{ kind }} ' || {{ sagaz_dbt.postgres__sql_string(relation.render()) }} || ' owner to '
           || quote_ident(pg_get_userbyid(c.relowner))
    from pg_class c join rel on c.oid = rel.oid where c.relowner <> (select oid from pg_roles where rolname = current_user)
    union all
    select 'grant ' || a.privilege_type || ' on ' || {{ sagaz_dbt.postgres__sql_string(relation.render()) }} || ' to '
           || case when a.grantee = 0 then 'public' else quote_ident(pg_get_userbyid(a.grantee)) end
           || case when a.is_grantable then ' with grant option' else '' end
    from pg_class c join rel on c.oid = rel.oid, aclexplode(c.relacl) a
    where a.grantee <> c.relowner
    union all
    select 'comment on {{ kind }} ' || {{ sagaz_dbt.postgres__sql_string(relation.render()) }} || ' is '
           || quote_literal(d.description)
    from pg_description d join rel on d.objoid = rel.oid and d.classoid = 'pg_class'::regclass and d.objsubid = 0
  {%- endset -%}
  {{- return(run_query(sql).columns[0].values() | list) -}}
{%- endmacro %}


{#- ---- backups/temporaries.sql ---- -#}

{% macro postgres__dbt_temporaries(steps) -%}
  {#- dbt-postgres's temporaries are session temporary tables: they die with the session. -#}
  {{- return(none) -}}
{%- endmacro %}


{#- ---- backups/fingerprint.sql ---- -#}

{% macro postgres__fingerprint_sql(database, schema, identifier, is_view) -%}
  select '{"id": "' || c.relkind::text || ':' || c.oid::text || ':' || c.relfilenode::text || ':'
         || coalesce((select r.xmin::text from pg_catalog.pg_rewrite r where r.ev_class = c.oid and r.rulename = '_RETURN'), '')
         || '", "xid": ' || (txid_current() % 4294967296)::text || '}'
  from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where n.nspname = {{ sagaz_dbt.postgres__sql_string(schema) }} and c.relname = {{ sagaz_dbt.postgres__sql_string(identifier) }}
{%- endmacro %}

{% macro postgres__fingerprints_sql(entries) -%}
  {#- A fingerprint is O(1) per relation here (no catalog-wide scan): one part each. -#}
  {{- return(sagaz_dbt.union_fingerprints_sql(entries)) -}}
{%- endmacro %}

{% macro postgres__fingerprint_matches(relation, recorded, now) -%}
  {{- return(recorded.id == now.get('id') and sagaz_dbt.fingerprint_still_holds(relation, recorded)) -}}
{%- endmacro %}

{% macro postgres__fingerprint_still_holds(relation, recorded) -%}
  {#- Same OID and file: was a row written after the recorded transaction?  (age() compares
      transaction ids across wraparound; frozen rows are the oldest of all.) -#}
  {%- if relation.is_view or recorded.get('xid') is none -%}
    {{- return(true) -}}
  {%- endif -%}
  {%- set sql -%}
    select exists (select 1 from {{ relation }} as r where age(r.xmin) < age({{ sagaz_dbt.postgres__sql_string(recorded.xid) }}::xid))
  {%- endset -%}
  {{- return(not run_query(sql).rows[0][0]) -}}
{%- endmacro %}


{#- ---- journal/journal.sql ---- -#}

{% macro postgres__create_journal_schema(schema_relation) -%}
  create schema if not exists {{ schema_relation.include(database=False) }}
{%- endmacro %}

{% macro postgres__journal_table_sql(relation, columns) -%}
  {{- return(sagaz_dbt.standard_journal_table_sql(relation, columns)) -}}
{%- endmacro %}

{% macro postgres__journal_add_column_sql(relation, name, type, if_not_exists) -%}
  {{- return(sagaz_dbt.standard_add_column_sql(relation, name, type, if_not_exists)) -}}
{%- endmacro %}


{#- ---- journal/ownership.sql ---- -#}

{% macro postgres__db_epoch() -%}
  {{- return("extract(epoch from clock_timestamp())::double precision") -}}
{%- endmacro %}


{#- ---- overrides/relations.sql ---- -#}

{% macro postgres__get_relations() -%}
  {#-
    dbt-postgres links each cached table to the views that read it, so that dropping the
    table drops the views from its cache (mirroring DROP ... CASCADE).  Our kept backups are
    never dropped during the run, so those views stay in the database; without links dbt's
    cache keeps them too, and a view model downstream of a rebuilt table is replaced
    normally instead of failing with "relation already exists".
  -#}
  {%- if sagaz_dbt.is_armed() -%}
    {{- return([]) -}}
  {%- endif -%}
  {{- return(dbt.postgres__get_relations()) -}}
{%- endmacro %}

{% macro postgres__drop_or_keep(relation) -%}
  {%- set name = relation.identifier or '' -%}
  {%- if sagaz_dbt.is_armed() and name and 'sagaz' not in name
        and not name.endswith('__dbt_backup') and not name.endswith('__dbt_tmp') -%}
    {%- set kept = sagaz_dbt.kept_relation(relation) -%}
    {#- Only a relation this run armed (a step) may be kept: anything else (a test's audit
        table, a temporary relation) would become a backup no journal entry knows of. -#}
    {%- set home = sagaz_dbt.kept_home(kept) -%}
    {%- if sagaz_dbt.is_journaled_backup(kept)
          and sagaz_dbt.find_relation(kept.database, kept.schema, kept.identifier) is none
          and sagaz_dbt.find_relation(home.database, home.schema, home.identifier) is none -%}
      {{- log("sagaz-dbt: keeping " ~ relation ~ " as " ~ home ~ " instead of dropping it") -}}
      {%- do adapter.dispatch('rename_relation', 'dbt')(relation, kept) -%}
      {{- return(sagaz_dbt.move_kept(kept.incorporate(type=relation.type), home)) -}}
    {%- endif -%}
  {%- endif -%}
  {{- return(adapter.dispatch('drop_relation', 'dbt')(relation)) -}}
{%- endmacro %}

{% macro postgres__backup_partitions(partition_columns, copy_identifier, keys_identifier, nondeterministic) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: backup_partitions is not used on postgres (rows are restored by key: DELETE works)") -%}
{%- endmacro %}
