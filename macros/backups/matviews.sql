{#-
  Materialized view models (see sagaz_dbt/strategies/matview.py).  dbt-postgres refreshes
  an existing materialized view in place, or replaces it (full refresh, type change,
  a configuration change that needs one) with renames and a drop inside one statement.
  This pre-hook runs inside the model's transaction, before that statement: it renames
  the pre-run relation to the sagaz name the journal holds for it, and leaves in its
  place what dbt's statement expects to find.
-#}

{% macro keep_materialized_view(kept_identifier) -%}
  {{- return(adapter.dispatch('keep_materialized_view', 'sagaz_dbt')(kept_identifier)) -}}
{%- endmacro %}

{% macro default__keep_materialized_view(kept_identifier) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: keep_materialized_view is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}

{% macro duckdb__keep_materialized_view(kept_identifier) -%}
  {#- dbt-duckdb has no materialized views: the hook is never injected there. -#}
  {{- return('') -}}
{%- endmacro %}

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


{% macro recreate_materialized_view(database, schema, identifier, select_sql) -%}
  {#- A materialized view that reads a relation the run replaced, bound to the backup
      about to be dropped (plain dbt's `drop ... cascade` of the backup drops it): drop it
      and create it again on `select_sql` (already re-pointed), with its indexes; the
      views and materialized views that read it, transitively, are re-created after it
      from their definitions; each gets back its indexes, owner, grants and comment. -#}
  {%- set view = api.Relation.create(database=database, schema=schema, identifier=identifier, type='materialized_view') -%}
  {%- set indexes = sagaz_dbt.relation_index_ddl(view) -%}
  {%- set dependants = sagaz_dbt.postgres__dependants_of(view) -%}
  {%- set privileges = sagaz_dbt.postgres__privileges_ddl(view) -%}
  {%- call statement('sagaz_recreate_materialized_view', auto_begin=True) -%}
    drop materialized view {{ view }} cascade;
    create materialized view {{ view }} as {{ select_sql }};
    {% for index in indexes -%}{{ index[1] }};{%- endfor %}
    {% for ddl in privileges -%}{{ ddl }};{%- endfor %}
    {% for d in dependants -%}
      {%- set rel = api.Relation.create(database=database, schema=d.schema, identifier=d.name) -%}
      create {{ 'materialized view' if d.kind == 'm' else 'view' }} {{ rel }} as {{ d.definition | trim | trim(';') }};
      {% for index in d.indexes -%}{{ index }};{%- endfor %}
      {% for ddl in d.privileges -%}{{ ddl }};{%- endfor %}
    {% endfor %}
  {%- endcall -%}
{%- endmacro %}

{% macro postgres__dependants_of(relation) -%}
  {#- Every view and materialized view reading `relation`, directly or through others,
      each after everything of the set it reads (ordered by its deepest path). -#}
  {%- set sql -%}
    with recursive deps(oid, depth) as (
      select r.ev_class, 1 from pg_depend d join pg_rewrite r on r.oid = d.objid
      where d.classid = 'pg_rewrite'::regclass
        and d.refobjid = {{ sagaz_dbt.sql_string(relation.render()) }}::regclass
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


{% macro relation_index_ddl(relation) -%}
  {#- The CREATE INDEX statements of a relation's indexes, recorded while arming. -#}
  {{- return(adapter.dispatch('relation_index_ddl', 'sagaz_dbt')(relation)) -}}
{%- endmacro %}

{% macro default__relation_index_ddl(relation) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: relation_index_ddl is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}

{% macro duckdb__relation_index_ddl(relation) -%}
  {#- Only asked for materialized views, which DuckDB does not have. -#}
  {{- return(none) -}}
{%- endmacro %}

{% macro postgres__relation_index_ddl(relation) -%}
  {%- set sql -%}
    select c.relname, pg_get_indexdef(i.indexrelid) from pg_index i join pg_class c on c.oid = i.indexrelid
    where i.indrelid = {{ sagaz_dbt.sql_string(relation.render()) }}::regclass order by c.relname
  {%- endset -%}
  {%- set out = [] -%}
  {%- for row in run_query(sql).rows -%}{%- do out.append([row[0], row[1]]) -%}{%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}


{% macro restore_materialized_view_indexes(current, recorded, script) -%}
  {#- A materialized view dbt changed in place (only its indexes: dbt does not refresh it
      then) gets its pre-run indexes back.  Reads first (the caller flushed the queue). -#}
  {%- set now = sagaz_dbt.relation_index_ddl(current) -%}
  {%- if now == recorded -%}
    {{- return('untouched') -}}
  {%- endif -%}
  {%- for index in now -%}
    {%- set rel = api.Relation.create(database=current.database, schema=current.schema, identifier=index[0]) -%}
    {%- do script.append('drop index ' ~ rel.include(database=False)) -%}
  {%- endfor -%}
  {%- for index in recorded -%}{%- do script.append(index[1]) -%}{%- endfor -%}
  {{- return('indexes restored') -}}
{%- endmacro %}


{% macro postgres__privileges_ddl(relation) -%}
  {#- What makes a re-created view the same to its users: its owner, its grants (from its
      ACL; grantee 0 is PUBLIC) and its comment, as statements to replay after CREATE.
      Role names and the comment are quoted by the catalog (quote_ident, quote_literal). -#}
  {%- set kind = 'materialized view' if relation.is_materialized_view else 'view' -%}
  {%- set sql -%}
    with rel as (select {{ sagaz_dbt.sql_string(relation.render()) }}::regclass as oid)
    select 'alter {{ kind }} ' || {{ sagaz_dbt.sql_string(relation.render()) }} || ' owner to '
           || quote_ident(pg_get_userbyid(c.relowner))
    from pg_class c join rel on c.oid = rel.oid where c.relowner <> (select oid from pg_roles where rolname = current_user)
    union all
    select 'grant ' || a.privilege_type || ' on ' || {{ sagaz_dbt.sql_string(relation.render()) }} || ' to '
           || case when a.grantee = 0 then 'public' else quote_ident(pg_get_userbyid(a.grantee)) end
           || case when a.is_grantable then ' with grant option' else '' end
    from pg_class c join rel on c.oid = rel.oid, aclexplode(c.relacl) a
    where a.grantee <> c.relowner
    union all
    select 'comment on {{ kind }} ' || {{ sagaz_dbt.sql_string(relation.render()) }} || ' is '
           || quote_literal(d.description)
    from pg_description d join rel on d.objoid = rel.oid and d.classoid = 'pg_class'::regclass and d.objsubid = 0
  {%- endset -%}
  {{- return(run_query(sql).columns[0].values() | list) -}}
{%- endmacro %}
