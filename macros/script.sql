{#-
  A phase's DDL, sent to the warehouse as one script.

  dbt spends about 6 ms on every statement it sends (a query comment, two events, a
  debug-log line), several times what the engine needs for a rename or a drop, and the
  rollback or release of a 100-model project is hundreds of such statements.  So the phase
  macros queue their renames and drops in a list and send it at once, in the phase's
  transaction.  The rule that keeps this correct: whatever must read the warehouse (columns,
  row counts, the catalog) flushes the queue first, so a read always sees the state the
  queued statements leave; and dbt's relation cache is told of each queued change at once,
  so a lookup in the same phase sees it too.
-#}

{% macro flush(script) -%}
  {%- if script -%}
    {%- call statement('sagaz_script', auto_begin=True) -%}
      {{ script | join(';\n') }}
    {%- endcall -%}
    {%- do script.clear() -%}
  {%- endif -%}
{%- endmacro %}


{% macro queue_drop(script, relation) -%}
  {%- do script.append(adapter.dispatch('get_drop_sql', 'dbt')(relation) | trim) -%}
  {%- do adapter.cache_dropped(relation) -%}
{%- endmacro %}


{% macro queue_rename(script, from_relation, to_relation) -%}
  {%- do script.append(sagaz_dbt.rename_sql(from_relation, to_relation) | trim) -%}
  {%- do adapter.cache_renamed(from_relation, to_relation) -%}
{%- endmacro %}

{% macro rename_sql(from_relation, to_relation) -%}
  {{- return(adapter.dispatch('rename_sql', 'sagaz_dbt')(from_relation, to_relation)) -}}
{%- endmacro %}

{% macro default__rename_sql(from_relation, to_relation) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: rename_sql is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}


{% macro set_schema_sql(relation, schema) -%}
  {#- Move `relation` to `schema`, keeping its name. -#}
  {{- return(adapter.dispatch('set_schema_sql', 'sagaz_dbt')(relation, schema)) -}}
{%- endmacro %}

{% macro default__set_schema_sql(relation, schema) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: set_schema_sql is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}


{% macro queue_move(script, from_relation, to_relation) -%}
  {#- Put a backup at `to_relation` (another schema and/or name).  Engines that cannot move a
      relation across schemas (DuckDB) copy a table over and drop the backup instead: only
      copies live in another schema there (naming.sql). -#}
  {%- if from_relation.schema != to_relation.schema -%}
    {%- set moved = from_relation.incorporate(path={'schema': to_relation.schema}).quote(schema=to_relation.quote_policy.schema) -%}
    {%- if sagaz_dbt.moves_relations_across_schemas() -%}
      {%- do script.append(sagaz_dbt.set_schema_sql(from_relation, to_relation.schema)) -%}
      {%- do adapter.cache_renamed(from_relation, moved) -%}
    {%- elif from_relation.is_table -%}
      {%- set copied = to_relation.incorporate(type='table') -%}
      {%- do script.append('create table ' ~ copied ~ ' as select * from ' ~ from_relation) -%}
      {%- do sagaz_dbt.queue_drop(script, from_relation) -%}
      {%- do adapter.cache_added(copied) -%}
      {{- return(none) -}}
    {%- else -%}
      {%- do exceptions.raise_compiler_error("sagaz-dbt: cannot move " ~ from_relation ~ " to schema " ~ to_relation.schema) -%}
    {%- endif -%}
    {%- set from_relation = moved -%}
  {%- endif -%}
  {%- if from_relation.identifier != to_relation.identifier -%}
    {%- do sagaz_dbt.queue_rename(script, from_relation, to_relation) -%}
  {%- endif -%}
{%- endmacro %}
