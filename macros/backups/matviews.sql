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


{% macro relation_index_ddl(relation) -%}
  {#- The CREATE INDEX statements of a relation's indexes, recorded while arming. -#}
  {{- return(adapter.dispatch('relation_index_ddl', 'sagaz_dbt')(relation)) -}}
{%- endmacro %}

{% macro default__relation_index_ddl(relation) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: relation_index_ddl is not implemented for " ~ adapter.type()) -%}
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
