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

{% macro postgres__rename_sql(from_relation, to_relation) -%}
  {#- As dbt-postgres renames (ALTER TABLE renames views too). -#}
  alter table {{ from_relation.render() }} rename to {{ adapter.quote_as_configured(to_relation.identifier, 'identifier') }}
{%- endmacro %}

{% macro duckdb__rename_sql(from_relation, to_relation) -%}
  {#- As dbt-duckdb renames: DuckDB wants ALTER VIEW for a view. -#}
  alter {{ from_relation.type }} {{ from_relation.render() }} rename to {{ adapter.quote_as_configured(to_relation.identifier, 'identifier') }}
{%- endmacro %}
