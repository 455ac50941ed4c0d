{#-
  Spark (dbt-spark, parquet): the small per-engine answers the core dispatches for.

  Spark's Hive metastore keeps table and schema names in lower case and matches them
  without case; there is no database above the schema; a view is re-resolved by name on
  every read; there are no indexes, no foreign keys and no dbt temporaries outside the
  session.  String literals take backslash escapes (Spark's default
  `spark.sql.parser.escapedStringLiterals=false`), so a backslash is doubled and a quote
  escaped with one: any text is one literal.
-#}

{% macro spark__sql_string(value) -%}
  {%- set text = value | string -%}
  {%- if "\x00" in text -%}{%- do sagaz_dbt.sql_string_text(value) -%}{%- endif -%}
  {{- return("'" ~ (text | replace("\\", "\\\\") | replace("'", "\\'")) ~ "'") -}}
{%- endmacro %}

{% macro spark_literal(value) -%}
  {#- Any journal value as a SQL literal: dbt-spark pastes bindings in as '%s', unescaped. -#}
  {%- if value is none -%}
    {{- return("null") -}}
  {%- elif value is sameas true or value is sameas false -%}
    {{- return("true" if value else "false") -}}
  {%- elif value is number -%}
    {{- return(value | string) -}}
  {%- endif -%}
  {{- return(sagaz_dbt.spark__sql_string(value)) -}}
{%- endmacro %}

{% macro spark__identifier_byte_limit() -%}
  {#- The Hive metastore's TBL_NAME column holds 256 characters (at least 256 bytes). -#}
  {{- return(256) -}}
{%- endmacro %}

{% macro spark__unquoted_identifier_case() -%}
  {{- return('lower') -}}
{%- endmacro %}

{% macro spark__names_fold_case() -%}
  {#- The metastore lower-cases every name, quoted or not: a match is case-insensitive. -#}
  {{- return(true) -}}
{%- endmacro %}

{% macro spark__columns_of_relations(relations) -%}
  {#- Not batched (Spark's own phases read columns per relation): each is asked on its own. -#}
  {{- return({}) -}}
{%- endmacro %}

{% macro spark__list_schema_relations(database, schema, memo) -%}
  {#- [(name, type)] of exactly `schema`: SHOW TABLES lists tables and views, SHOW VIEWS
      the views (session temporaries are left out). -#}
  {%- if not adapter.check_schema_exists(none, schema | lower) -%}
    {{- return([]) -}}
  {%- endif -%}
  {%- set views = [] -%}
  {%- for row in run_query('show views in ' ~ adapter.quote(schema)).rows if not row[2] -%}
    {%- do views.append(row[1]) -%}
  {%- endfor -%}
  {%- set out = [] -%}
  {%- for row in run_query('show tables in ' ~ adapter.quote(schema)).rows if not row[2] -%}
    {%- do out.append((row[1], 'view' if row[1] in views else 'table')) -%}
  {%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}

{% macro spark__create_journal_schema(schema_relation) -%}
  create schema if not exists {{ adapter.quote(schema_relation.schema) }}
{%- endmacro %}

{% macro spark__db_epoch() -%}
  {{- return("cast(unix_micros(current_timestamp()) as double) / 1000000") -}}
{%- endmacro %}

{% macro spark__rename_sql(from_relation, to_relation) -%}
  alter {{ 'view' if from_relation.is_view else 'table' }} {{ from_relation }} rename to {{ to_relation.include(database=False) }}
{%- endmacro %}

{% macro spark__drop_empty_schema(schema_relation) -%}
  {#- No CASCADE: a schema that is not empty stays. -#}
  drop schema {{ adapter.quote(schema_relation.schema) }}
{%- endmacro %}

{% macro spark__index_ddl_by_table(steps) -%}
  {{- return({}) -}}
{%- endmacro %}

{% macro spark__table_ddl(relation) -%}
  {{- return(none) -}}
{%- endmacro %}

{% macro spark__rebuilt_in_place(relation) -%}
  {{- return(false) -}}
{%- endmacro %}

{% macro spark__dbt_temporaries(steps) -%}
  {#- dbt-spark's temporaries are session views: they never outlive the process. -#}
  {{- return(none) -}}
{%- endmacro %}

{% macro spark__dependent_views_of(database, pairs) -%}
  {#- Views bind by name: nothing follows a renamed table. -#}
  {{- return([]) -}}
{%- endmacro %}

{% macro spark__analyze_keys(relation) -%}
{%- endmacro %}

{% macro spark__drop_added_columns(relation, columns, step, script) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: Spark restores no rows in place (parquet has no DELETE); drop_added_columns is never needed there") -%}
{%- endmacro %}

{% macro spark__keep_materialized_view(kept_identifier) -%}
  {{- return('') -}}
{%- endmacro %}

{% macro spark__relation_index_ddl(relation) -%}
  {{- return([]) -}}
{%- endmacro %}


{#- Operations that only the transactional engines' phases reach: Spark runs its own phases
    (macros/engines/spark/phases.sql, `Warehouse.call` prefers `spark__<phase>`), so each of these
    says why it is never asked on Spark instead of running another engine's SQL. -#}

{% macro spark__fingerprints_sql(entries) -%}
  {#- Never asked for: spark__arm_run takes no fingerprints (spark__fingerprint_sql). -#}
  {{- return(sagaz_dbt.union_fingerprints_sql(entries)) -}}
{%- endmacro %}

{% macro spark__fingerprint_matches(relation, recorded, now) -%}
  {{- return(recorded.id == now.get('id') and sagaz_dbt.fingerprint_still_holds(relation, recorded)) -}}
{%- endmacro %}

{% macro spark__fingerprint_still_holds(relation, recorded) -%}
  {#- Spark records a constant fingerprint (no change detection: README, known limits). -#}
  {{- return(true) -}}
{%- endmacro %}

{% macro spark__moves_relations_across_schemas() -%}
  {{- return(false) -}}
{%- endmacro %}

{% macro spark__journal_table_sql(relation, columns) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: the Spark journal is append-only (macros/engines/spark/journal.sql); journal_table_sql is not used on spark") -%}
{%- endmacro %}

{% macro spark__journal_add_column_sql(relation, name, type, if_not_exists=true) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: the Spark journal is append-only (macros/engines/spark/journal.sql); journal_add_column_sql is not used on spark") -%}
{%- endmacro %}

{% macro spark__set_schema_sql(relation, schema) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: set_schema_sql is not used on spark (backups stay beside their relation)") -%}
{%- endmacro %}

{% macro spark__shadow_view_definitions(database, schema, identifiers) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: --isolation publish is refused on spark (no transactional DDL)") -%}
{%- endmacro %}

{% macro spark__view_ddl(relation) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: view_ddl is not used on spark (spark__arm_run records view text itself)") -%}
{%- endmacro %}
