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
  {%- set kept = existing.incorporate(path={'identifier': kept_identifier}) -%}
  {%- set target = this.incorporate(type=this.MaterializedView) -%}
  {%- set replacing = should_full_refresh() or not existing.is_materialized_view -%}
  {%- if not replacing -%}
    {%- set changes = get_materialized_view_configuration_changes(existing, config) -%}
    {%- if changes is not none and config.get('on_configuration_change') == 'apply' -%}
      {%- if changes.requires_full_refresh -%}
        {%- set replacing = true -%}
      {%- else -%}
        {#- dbt would drop and create indexes by name on the relation in place; the kept
            view holds those names (Postgres index names are per schema). -#}
        {%- do exceptions.raise_compiler_error(
              "sagaz-dbt: the indexes of materialized view " ~ existing ~ " changed; sagaz-dbt cannot keep "
              ~ "its pre-run state while dbt alters them in place. Run this model with --full-refresh.") -%}
      {%- endif -%}
    {%- endif -%}
  {%- endif -%}
  {%- call statement('sagaz_keep_materialized_view', auto_begin=True) -%}
    {{ get_rename_sql(existing, kept_identifier) }}
  {%- endcall -%}
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
        {{ get_create_index_sql(target, index) }}{{ ';' if not loop.last else '' }}
      {%- endfor %}
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
  {#- A materialized view outside the run that reads a relation the run replaced: drop it
      and create it again on `select_sql` (already re-pointed), with its indexes (its
      grants and comment are not carried over).  Plain dbt's `drop ... cascade` of the
      backup would have dropped it.  Its own dependants would block the drop: then this
      fails, and the caller reports the view as lost with its definition. -#}
  {%- set view = api.Relation.create(database=database, schema=schema, identifier=identifier, type='materialized_view') -%}
  {%- set sql -%}
    select pg_get_indexdef(i.indexrelid) from pg_index i
    where i.indrelid = {{ sagaz_dbt.sql_string(view.render()) }}::regclass order by i.indexrelid
  {%- endset -%}
  {%- set indexes = run_query(sql).columns[0].values() | list -%}
  {%- call statement('sagaz_recreate_materialized_view', auto_begin=True) -%}
    drop materialized view {{ view }};
    create materialized view {{ view }} as {{ select_sql }};
    {% for ddl in indexes -%}{{ ddl }};{%- endfor %}
  {%- endcall -%}
{%- endmacro %}
