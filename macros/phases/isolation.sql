{#-
  Isolation mode (`--isolation publish`): dbt builds every selected node into a shadow
  relation next to its production relation, and only a successful build publishes them
  all, in one transaction.  Production is never written before the publish; a failed run
  only drops the shadows.  The journal records each shadow (as a relation the run
  creates) before it exists, so `sagaz-dbt recover` drops the shadows of a killed run with
  the ordinary rollback.
-#}

{% macro shadow_identifier(identifier) -%}
  {#- `__sagaz_shadow_<run token>__<identifier>`, unique (naming.sql).  dbt derives its own
      names from the shadow's (`__dbt_tmp`, `__dbt_backup`) and cuts them to the engine's
      limit, which would drop the hash that tells two long shadows apart: the shadow leaves
      room for the longest suffix. -#}
  {%- set max_bytes = sagaz_dbt.identifier_byte_limit() -%}
  {%- set limit = none if max_bytes is none else max_bytes - ('__dbt_backup' | length) -%}
  {{- return(sagaz_dbt.sagaz_identifier(identifier, 'shadow', sagaz_dbt.run_token(), limit)) -}}
{%- endmacro %}


{% macro arm_isolation(database, schema, run, nodes) -%}
  {#- The journal's run row, and for each node {shadow, identifier, pre_type}: its shadow
      name (as the catalog will hold it), and its production relation as it is now.  A
      shadow name that already exists (left by hand, or by a run not yet recovered) is
      refused before anything is created under it. -#}
  {%- do sagaz_dbt.journal_ensure(database, schema) -%}
  {%- do sagaz_dbt.journal_insert_run(database, schema, run) -%}
  {%- set memo = sagaz_dbt.phase_memo() -%}
  {%- set out = [] -%}
  {%- set owners = {} -%}
  {%- for node in nodes -%}
    {%- set production = sagaz_dbt.find_node_relation(node.database, node.schema, node.identifier, memo) -%}
    {%- set shadow = sagaz_dbt.shadow_identifier(node.identifier) -%}
    {%- set stored = sagaz_dbt.catalog_identifier(shadow, 'identifier', memo) -%}
    {%- set identifier = production.identifier if production is not none else sagaz_dbt.catalog_identifier(node.identifier, 'identifier', memo) -%}
    {%- set kept = sagaz_dbt.sagaz_identifier(identifier, 'bk', sagaz_dbt.run_token()) -%}
    {%- do sagaz_dbt.claim_name(node, stored, true, memo, owners) -%}
    {%- do sagaz_dbt.claim_name(node, kept, true, memo, owners) -%}
    {%- do out.append({
          'shadow': shadow,
          'shadow_stored': stored,
          'identifier': identifier,
          'kept': kept,
          'pre_type': (production.type | string) if production is not none else none}) -%}
  {%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}


{% macro clone_into_shadow(database, schema, identifier, shadow) -%}
  {#- An incremental model's current rows, copied into its (journaled) shadow so that dbt
      merges this run's rows into them, as it would into production. -#}
  {%- set source = api.Relation.create(database=database, schema=schema, identifier=identifier, type='table') -%}
  {%- set target = api.Relation.create(database=database, schema=schema, identifier=shadow, type='table') -%}
  {%- call statement('sagaz_clone_shadow', auto_begin=True) -%}
    create table {{ target }} as select * from {{ source }}
  {%- endcall -%}
{%- endmacro %}


{% macro shadow_view_definitions(database, schema, identifiers) -%}
  {#- {identifier: SQL text} of the shadow views, for re-creating them under their
      production names where views bind by name (DuckDB). -#}
  {{- return(adapter.dispatch('shadow_view_definitions', 'sagaz_dbt')(database, schema, identifiers)) -}}
{%- endmacro %}

{% macro default__shadow_view_definitions(database, schema, identifiers) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: shadow_view_definitions is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}


{% macro publish_run(database, schema, run_id, steps, views) -%}
  {#- The publish's renames, in the caller's transaction, in DAG order: each production
      relation moves aside under its kept name, and its shadow takes the production name
      (or, for a view in `views`, the view is created anew under the production name from
      its re-pointed SELECT and the shadow view dropped).  Returns {seq: action} and the
      moved-aside relations, which finish_publish drops once the outside views follow the
      published relations (Postgres binds them to the moved-aside ones). -#}
  {#- Every lookup happens before the first change, so the statements are queued without
      telling dbt's relation cache (each cache event costs ~0.2 ms of protobuf; the cache is
      cleared when the next transaction opens). -#}
  {%- set actions = {} -%}
  {%- set script = [] -%}
  {%- set memo = sagaz_dbt.step_memo(steps) -%}
  {%- set found = {} -%}
  {%- for step in steps -%}
    {%- set detail = fromjson(step.detail) -%}
    {%- do found.update({step.seq: (
          sagaz_dbt.find_relation(step.database_name, step.schema_name, detail.production, memo),
          sagaz_dbt.find_relation(step.database_name, step.schema_name, step.identifier, memo))}) -%}
  {%- endfor -%}
  {%- set moved = [] -%}
  {%- for step in steps -%}
    {%- set detail = fromjson(step.detail) -%}
    {%- set production, shadow = found[step.seq] -%}
    {%- if shadow is none -%}
      {#- dbt did not build it (nothing to publish): production stays as it is. -#}
      {%- do actions.update({step.seq: 'untouched'}) -%}
    {%- else -%}
      {%- if production is not none -%}
        {%- set aside = production.incorporate(path={'identifier': detail.kept}) -%}
        {%- do script.append(sagaz_dbt.rename_sql(production, aside) | trim) -%}
        {%- do moved.append({'database': aside.database, 'schema': aside.schema, 'identifier': aside.identifier, 'type': aside.type | string}) -%}
      {%- endif -%}
      {%- if step.seq | string in views -%}
        {%- set view = api.Relation.create(database=step.database_name, schema=step.schema_name, identifier=detail.production, type='view') -%}
        {%- do script.append('create view ' ~ view ~ ' as ' ~ views[step.seq | string]) -%}
        {%- do script.append(adapter.dispatch('get_drop_sql', 'dbt')(shadow) | trim) -%}
      {%- else -%}
        {%- do script.append(sagaz_dbt.rename_sql(shadow, shadow.incorporate(path={'identifier': detail.production})) | trim) -%}
      {%- endif -%}
      {%- do actions.update({step.seq: 'published'}) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- do sagaz_dbt.flush(script) -%}
  {{- return({'actions': actions, 'moved': moved}) -}}
{%- endmacro %}


{% macro finish_publish(database, schema, run_id, moved, retained=none) -%}
  {#- Drop the moved-aside production relations (views first: reverse DAG order) and mark
      the run committed, in the publish's transaction: after a crash, the warehouse and
      the journal are both before or both after the publish.  With `retained` (the steps
      as `sagaz-dbt rollback` reads them: each production relation and its moved-aside
      pre-run version), the moved-aside relations are kept instead (--keep-backups). -#}
  {%- set script = [] -%}
  {%- if retained is none -%}
    {%- for m in moved | reverse -%}
      {%- set relation = api.Relation.create(database=m.database, schema=m.schema, identifier=m.identifier, type=m.type) -%}
      {%- do script.append(adapter.dispatch('get_drop_sql', 'dbt')(relation) | trim) -%}
    {%- endfor -%}
    {%- do sagaz_dbt.flush(script) -%}
    {%- do sagaz_dbt.journal_set_all_steps_status(database, schema, run_id, 'released') -%}
  {%- else -%}
    {%- set steps = sagaz_dbt.journal_relation(database, schema, 'sagaz_steps') -%}
    {%- do adapter.add_query('delete from ' ~ steps ~ ' where run_id = ' ~ get_binding_char(), bindings=[run_id]) -%}
    {%- do sagaz_dbt.journal_insert_steps(database, schema, run_id, retained) -%}
  {%- endif -%}
  {%- do sagaz_dbt.journal_set_run_status(database, schema, run_id, 'committed') -%}
{%- endmacro %}


{% macro replace_view_sql(database, schema, identifier, select_sql) -%}
  {#- The statement that re-creates a view from its SELECT, for the publish to run under a
      savepoint of its own (a view that cannot follow must not abort the publish). -#}
  {%- set view = api.Relation.create(database=database, schema=schema, identifier=identifier, type='view') -%}
  {{- return('create or replace view ' ~ view ~ ' as ' ~ select_sql) -}}
{%- endmacro %}
