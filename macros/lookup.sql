{#-
  Exact relation lookups.  dbt's adapter.get_relation matches names case-insensitively and
  raises "approximate match" when a schema holds case twins (`orders` and "Orders"), and
  its relation cache keys names in lower case, so one twin hides the other.  sagaz-dbt
  looks relations up by the exact name the catalog holds: one catalog query per schema
  and phase (`memo`), then a dictionary lookup per name.

  The memo is a snapshot of the catalog when the phase first reads a schema.  It stays
  true for the phase because each sagaz name belongs to one step (arm refuses duplicates)
  and every step reads its names before it queues a change to them.
-#}

{% macro catalog_identifier(name, component='identifier') -%}
  {#- The name the catalog holds for `name` as dbt renders it (quoted or not). -#}
  {{- return(adapter.dispatch('catalog_identifier', 'sagaz_dbt')(name, component)) -}}
{%- endmacro %}

{% macro default__catalog_identifier(name, component) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: catalog_identifier is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}

{% macro postgres__catalog_identifier(name, component) -%}
  {#- Postgres folds an unquoted identifier to lower case and keeps a quoted one as is. -#}
  {%- set rendered = adapter.quote_as_configured(name, component) -%}
  {{- return(name if rendered.startswith('"') else name | lower) -}}
{%- endmacro %}

{% macro duckdb__catalog_identifier(name, component) -%}
  {#- DuckDB keeps the case as written and matches names case-insensitively (see name_key). -#}
  {{- return(name) -}}
{%- endmacro %}


{% macro name_key(name) -%}
  {#- Two catalog names are the same relation when their keys are equal. -#}
  {{- return(adapter.dispatch('name_key', 'sagaz_dbt')(name)) -}}
{%- endmacro %}

{% macro default__name_key(name) -%}
  {{- return(name) -}}
{%- endmacro %}

{% macro duckdb__name_key(name) -%}
  {#- DuckDB refuses case twins, so a case-insensitive match is exact. -#}
  {{- return(name | lower) -}}
{%- endmacro %}


{% macro list_schema_relations(database, schema) -%}
  {#- [(name, type)] of the relations in exactly `schema` (not dbt's `ilike` listing). -#}
  {{- return(adapter.dispatch('list_schema_relations', 'sagaz_dbt')(database, schema)) -}}
{%- endmacro %}

{% macro default__list_schema_relations(database, schema) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: list_schema_relations is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}

{% macro postgres__list_schema_relations(database, schema) -%}
  {%- set sql -%}
    select c.relname::text, case c.relkind when 'v' then 'view' when 'm' then 'materialized_view' else 'table' end
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = {{ sagaz_dbt.sql_string(sagaz_dbt.catalog_identifier(schema, 'schema')) }}
      and c.relkind in ('r', 'p', 'v', 'm', 'f')
  {%- endset -%}
  {{- return(run_query(sql).rows) -}}
{%- endmacro %}

{% macro duckdb__list_schema_relations(database, schema) -%}
  {%- set sql -%}
    select table_name, 'table' from duckdb_tables()
    where lower(database_name) = lower({{ sagaz_dbt.sql_string(database) }})
      and lower(schema_name) = lower({{ sagaz_dbt.sql_string(schema) }}) and not temporary
    union all
    select view_name, 'view' from duckdb_views()
    where lower(database_name) = lower({{ sagaz_dbt.sql_string(database) }})
      and lower(schema_name) = lower({{ sagaz_dbt.sql_string(schema) }}) and not temporary and not internal
  {%- endset -%}
  {{- return(run_query(sql).rows) -}}
{%- endmacro %}


{% macro schema_relations(database, schema, memo=none) -%}
  {#- {name_key: Relation} for one schema, read once per `memo`. -#}
  {%- set memo = {} if memo is none else memo -%}
  {%- set slot = (database, schema) -%}
  {%- if slot not in memo -%}
    {%- set found = {} -%}
    {%- for row in sagaz_dbt.list_schema_relations(database, schema) -%}
      {%- do found.update({sagaz_dbt.name_key(row[0]): api.Relation.create(
            database=database, schema=schema, identifier=row[0], type=row[1])}) -%}
    {%- endfor -%}
    {%- do memo.update({slot: found}) -%}
  {%- endif -%}
  {{- return(memo[slot]) -}}
{%- endmacro %}


{% macro find_relation(database, schema, identifier, memo=none) -%}
  {#- The relation named exactly `identifier` (a catalog name, as the journal records
      it), or none.  Never an approximate match. -#}
  {%- if identifier is none or identifier == '' -%}
    {{- return(none) -}}
  {%- endif -%}
  {%- set found = sagaz_dbt.schema_relations(database, schema, memo) -%}
  {{- return(found.get(sagaz_dbt.name_key(identifier))) -}}
{%- endmacro %}


{% macro find_node_relation(database, schema, identifier, memo=none) -%}
  {#- A node's relation, from its configured alias (folded as the engine stores it). -#}
  {{- return(sagaz_dbt.find_relation(database, schema, sagaz_dbt.catalog_identifier(identifier), memo)) -}}
{%- endmacro %}


{% macro step_memo(steps) -%}
  {#- One catalog snapshot shared by every step of a phase: attached to each step, so the
      step macros find it without new parameters. -#}
  {%- set memo = {} -%}
  {%- for step in steps -%}
    {%- do step.update({'memo': memo}) -%}
  {%- endfor -%}
  {{- return(memo) -}}
{%- endmacro %}
