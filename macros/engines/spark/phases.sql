{#-
  The phases of a run on Spark: arm, compensate, release.  No DDL is transactional, so
  each phase is a sequence of steps, each durable as its statement returns, ordered so
  that a crash between any two of them leaves a state the next attempt finishes:

  - The journal names every backup before it exists (arming appends the step rows, then
    copies), and a run's decision before acting on it (`compensating`, `committing`).
  - Every step reads the warehouse before it acts (does the relation, its kept backup, its
    copy exist?) and does only what is left: drop the run's version, rename the backup
    back, re-create a view from its recorded text.  Run again, it finds the work done.
  - `recover` of a `committing` run finishes the release (the run had succeeded), of any
    other unfinished run the compensation.

  Relations are looked up afresh for each step: a phase changes the catalog as it goes.
-#}

{% macro spark__arm_run(database, schema, run, steps, isolate=false) -%}
  {%- if isolate -%}
    {#- Spark renames a table only within its schema: a kept backup cannot leave the user's. -#}
    {%- do exceptions.raise_compiler_error("sagaz-dbt: vars.sagaz.isolate_backups is not supported on Spark (a table cannot be renamed into another schema); nothing was changed") -%}
  {%- endif -%}
  {%- do sagaz_dbt.spark_journal_ensure(database, schema) -%}
  {%- set memo = {} -%}
  {%- set owners = {} -%}
  {%- set armed = [] -%}
  {%- set copies = [] -%}
  {%- for step in steps -%}
    {%- set out = {'pre_type': none, 'identifier': sagaz_dbt.catalog_identifier(step.identifier, 'identifier', memo),
                   'kept_identifier': none, 'copy_identifier': none, 'keys_identifier': none, 'index_ddl': [], 'copied': false} -%}
    {%- set existing = sagaz_dbt.find_node_relation(step.database, step.schema, step.identifier, memo) -%}
    {%- do sagaz_dbt.claim_name(step, out.identifier, false, memo, owners) -%}
    {%- if existing is none -%}
      {%- do out.update({'new_schema': not adapter.check_schema_exists(none, step.schema | lower)}) -%}
    {%- else -%}
      {%- set kept = sagaz_dbt.kept_relation(existing) -%}
      {%- do sagaz_dbt.claim_name(step, kept.identifier, true, memo, owners) -%}
      {%- do out.update({'pre_type': existing.type | string, 'identifier': existing.identifier, 'kept_identifier': kept.identifier}) -%}
      {%- if existing.is_view -%}
        {#- Replaced in place by `create or replace view`: its text brings it back. -#}
        {%- do out.update({'view_text': sagaz_dbt.spark_view_text(existing)}) -%}
      {%- elif step.kind == 'partitions' and existing.is_table and sagaz_dbt.spark_partitioned_by(existing, step.key_columns) -%}
        {#- insert_overwrite by partition: the node's pre-hook copies the partitions its batch
            overwrites (partitions.sql); only the names are journaled now. -#}
        {%- do out.update({'copy_identifier': sagaz_dbt.sagaz_identifier(existing.identifier, 'cp', sagaz_dbt.run_token()),
                           'keys_identifier': sagaz_dbt.sagaz_identifier(existing.identifier, 'ky', sagaz_dbt.run_token())}) -%}
        {%- do sagaz_dbt.claim_name(step, out.copy_identifier, true, memo, owners) -%}
        {%- do sagaz_dbt.claim_name(step, out.keys_identifier, true, memo, owners) -%}
      {%- elif step.kind != 'swap' -%}
        {#- Written in place (incremental append / insert_overwrite): copied whole, in the
            table's own schema (not copy_relation's backup schema): Spark renames a table
            only within its schema, and a rollback renames the copy back. -#}
        {%- set copy = existing.incorporate(path={'identifier': sagaz_dbt.sagaz_identifier(existing.identifier, 'cp', sagaz_dbt.run_token())}) -%}
        {%- do sagaz_dbt.claim_name(step, copy.identifier, true, memo, owners) -%}
        {%- do out.update({'copy_identifier': copy.identifier, 'copied': true}) -%}
        {%- do copies.append((existing, copy)) -%}
      {%- endif -%}
    {%- endif -%}
    {%- do armed.append(out) -%}
  {%- endfor -%}
  {#- Every name in the journal before anything is created under it. -#}
  {%- do sagaz_dbt.spark_insert_run(database, schema, run) -%}
  {%- set rows = [] -%}
  {%- for step in steps -%}
    {%- set out = armed[loop.index0] -%}
    {%- do rows.append({'seq': step.seq, 'unique_id': step.unique_id, 'resource_type': step.resource_type,
                        'materialized': step.materialized, 'database': step.database, 'schema': step.schema,
                        'identifier': out.identifier, 'pre_type': out.pre_type, 'kept_identifier': out.kept_identifier,
                        'copy_identifier': out.copy_identifier, 'index_ddl': '[]', 'status': 'arming',
                        'detail': tojson({'keys_identifier': out.keys_identifier}) if out.keys_identifier else '{}'}) -%}
  {%- endfor -%}
  {%- do sagaz_dbt.spark_insert_steps(database, schema, run.run_id, rows) -%}
  {%- for existing, copy in copies -%}
    {#- LIKE keeps the format and the partitioning, so the copy can take the table's place. -#}
    {%- do run_query('create table ' ~ copy ~ ' like ' ~ existing) -%}
    {%- do run_query('insert into ' ~ copy ~ ' select * from ' ~ existing) -%}
  {%- endfor -%}
  {{- return(armed) -}}
{%- endmacro %}


{% macro spark_view_text(relation) -%}
  {%- for row in run_query('describe table extended ' ~ relation).rows if row[0] == 'View Text' -%}
    {{- return(row[1]) -}}
  {%- endfor -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: cannot read the text of view " ~ relation ~ "; nothing was changed") -%}
{%- endmacro %}


{#- A phase reads each schema's catalog once (`memo`, lookup.sql) and keeps it true as it
    drops and renames: dozens of catalog reads per phase cost seconds on Spark. -#}

{% macro spark_find(step, identifier, memo) -%}
  {{- return(sagaz_dbt.find_relation(step.database_name, step.schema_name, identifier, memo)) -}}
{%- endmacro %}

{% macro spark_memo_entries(relation, memo) -%}
  {{- return(sagaz_dbt.schema_relations(relation.database or '', relation.schema, memo)) -}}
{%- endmacro %}

{% macro spark_drop(relation, memo={}) -%}
  {%- if relation is not none -%}
    {%- do run_query('drop ' ~ ('view' if relation.is_view else 'table') ~ ' if exists ' ~ relation) -%}
    {%- do sagaz_dbt.spark_memo_entries(relation, memo).pop(sagaz_dbt.name_key(relation.identifier, memo), none) -%}
  {%- endif -%}
{%- endmacro %}

{% macro spark_rename(relation, identifier, memo={}) -%}
  {%- do run_query(sagaz_dbt.spark__rename_sql(relation, relation.incorporate(path={'identifier': identifier}))) -%}
  {%- set entries = sagaz_dbt.spark_memo_entries(relation, memo) -%}
  {%- do entries.pop(sagaz_dbt.name_key(relation.identifier, memo), none) -%}
  {%- do entries.update({sagaz_dbt.name_key(identifier, memo): (identifier | lower, relation.type | string)}) -%}
{%- endmacro %}


{% macro spark_restore_step(step, memo) -%}
  {#- One step back to its pre-run state, from whatever point an earlier attempt reached. -#}
  {%- set detail = fromjson(step.detail) if step.detail else {} -%}
  {%- if step.get('status') == 'arming' -%}
    {#- Arming never finished (its step rows were never journaled `armed`): dbt never started,
        so the relation holds its pre-run state, and its copy may be half made (killed while
        the rows were inserted).  Only the backups go; nothing is swapped in. -#}
    {%- do sagaz_dbt.spark_release_step(step, memo, include_kept=false) -%}
    {{- return('untouched') -}}
  {%- endif -%}
  {%- set current = sagaz_dbt.spark_find(step, step.identifier, memo) -%}
  {%- if step.pre_type is none -%}
    {%- if current is none -%}{{- return('untouched') -}}{%- endif -%}
    {%- do sagaz_dbt.spark_drop(current, memo) -%}
    {{- return('dropped') -}}
  {%- endif -%}
  {%- set kept = sagaz_dbt.spark_find(step, step.kept_identifier, memo) -%}
  {%- if detail.get('mode') == 'partitions' and kept is none -%}
    {#- The partitions its batch overwrote, back from their copy (partitions.sql). -#}
    {{- return(sagaz_dbt.spark_restore_partitions(step, current, detail, memo)) -}}
  {%- endif -%}
  {%- set copy = sagaz_dbt.spark_find(step, step.copy_identifier, memo) -%}
  {%- if kept is not none or copy is not none -%}
    {#- Drop the run's version, then rename the pre-run relation back; a crash in between
        leaves the backup alone, which the next attempt renames. -#}
    {%- do sagaz_dbt.spark_drop(current, memo) -%}
    {%- do sagaz_dbt.spark_rename(kept if kept is not none else copy, step.identifier, memo) -%}
    {%- if kept is not none -%}{%- do sagaz_dbt.spark_drop(copy, memo) -%}{%- endif -%}
    {%- do sagaz_dbt.spark_drop(sagaz_dbt.spark_find(step, detail.get('keys_identifier'), memo), memo) -%}
    {{- return('swapped back' if kept is not none else 'copy swapped in') -}}
  {%- elif detail.get('view_text') -%}
    {{- return(sagaz_dbt.spark_restore_view(step, current, detail.view_text, memo)) -}}
  {%- elif current is none -%}
    {{- return('missing') -}}
  {%- endif -%}
  {{- return('untouched') -}}
{%- endmacro %}


{% macro spark_restore_view(step, current, view_sql, memo) -%}
  {#- A view replaced in place: re-created from its recorded text unless it still has it
      (Spark analyzes a view's query when it is created: every relation it reads must be
      back first, see spark__compensate_run). -#}
  {%- if current is not none and current.is_view and sagaz_dbt.spark_view_text(current) == view_sql -%}
    {{- return('untouched') -}}
  {%- endif -%}
  {%- if current is not none and not current.is_view -%}{%- do sagaz_dbt.spark_drop(current, memo) -%}{%- endif -%}
  {%- set view = api.Relation.create(schema=step.schema_name, identifier=step.identifier, type='view') -%}
  {%- do run_query('create or replace view ' ~ view ~ ' as ' ~ view_sql) -%}
  {{- return('view restored') -}}
{%- endmacro %}


{% macro spark_release_step(step, memo, include_kept=true) -%}
  {%- set dropped = [] -%}
  {%- set detail = fromjson(step.detail) if step.detail else {} -%}
  {#- a partition copy before its list of partitions (partitions.sql) -#}
  {%- for identifier in ([step.kept_identifier] if include_kept else []) + [step.copy_identifier, detail.get('keys_identifier')] -%}
    {%- set rel = sagaz_dbt.spark_find(step, identifier, memo) -%}
    {%- if rel is not none -%}
      {%- do sagaz_dbt.spark_drop(rel, memo) -%}
      {%- do dropped.append(rel.identifier) -%}
    {%- endif -%}
  {%- endfor -%}
  {{- return(dropped) -}}
{%- endmacro %}


{% macro spark__compensate_run(database, schema, run_id, steps, restore_seqs, repoints, message, accept_missing=false) -%}
  {%- do sagaz_dbt.spark_set_run_status(database, schema, run_id, 'compensating') -%}
  {%- set memo = {} -%}
  {%- set actions = {} -%}
  {#- Every step is restored, not only `restore_seqs` (the nodes dbt reported as run): with
      no transaction per node, a node whose events were lost (an invocation aborted in its
      main thread while its worker threads went on) may still have changed its relation.
      Each restore reads the warehouse first, so a step nothing changed stays as it is (a
      copy of an unchanged table is swapped in: same rows, O(1)). -#}
  {#- Views replaced in place come last, in DAG order (`steps` is reversed): Spark checks a
      view's query when it creates it, so the tables and views it reads must be back. -#}
  {%- set views = [] -%}
  {%- for step in steps -%}
    {%- if step.pre_type == 'view' and sagaz_dbt.spark_find(step, step.kept_identifier, memo) is none -%}
      {%- do views.insert(0, step) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- for step in (steps | reject('in', views) | list) + views -%}
    {%- set action = sagaz_dbt.spark_restore_step(step, memo) -%}
    {%- set action = sagaz_dbt.accept_or_refuse_missing(action, step, run_id, accept_missing) -%}
    {%- do actions.update({step.seq: action}) -%}
  {%- endfor -%}
  {%- do sagaz_dbt.spark_set_all_steps_status(database, schema, run_id, 'compensated') -%}
  {%- do sagaz_dbt.spark_set_run_status(database, schema, run_id, 'rolled_back', message) -%}
  {{- return(actions) -}}
{%- endmacro %}


{% macro spark__release_run(database, schema, run_id, steps, keep) -%}
  {#- `committing` first: from here on, recovery finishes the release instead of rolling
      back a run some of whose backups are already gone. -#}
  {%- do sagaz_dbt.spark_set_run_status(database, schema, run_id, 'committing') -%}
  {%- set memo = {} -%}
  {%- set actions = {} -%}
  {%- for step in steps -%}
    {%- if keep -%}
      {%- do actions.update({step.seq: 'retained'}) -%}
    {%- else -%}
      {%- set dropped = sagaz_dbt.spark_release_step(step, memo) -%}
      {%- do actions.update({step.seq: 'released' if dropped else 'no backup'}) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- do sagaz_dbt.spark_set_all_steps_status(database, schema, run_id, 'retained' if keep else 'released') -%}
  {%- do sagaz_dbt.spark_set_run_status(database, schema, run_id, 'committed') -%}
  {{- return(actions) -}}
{%- endmacro %}


{% macro spark__drop_retained_run(database, schema, run_id, steps) -%}
  {%- set memo = {} -%}
  {%- for step in steps -%}
    {%- do sagaz_dbt.spark_release_step(step, memo) -%}
  {%- endfor -%}
  {%- do sagaz_dbt.spark_set_all_steps_status(database, schema, run_id, 'released') -%}
{%- endmacro %}


{% macro spark__drop_or_keep(relation) -%}
  {#- dbt-spark drops a table or seed before creating it again (and a table a view model
      replaces).  While armed, a relation this run journaled is renamed to its kept name
      instead: zero copy, and compensation renames it back. -#}
  {%- set name = relation.identifier or '' -%}
  {%- if sagaz_dbt.is_armed() and name and 'sagaz' not in name
        and not name.endswith('__dbt_backup') and not name.endswith('__dbt_tmp') -%}
    {%- set memo = {} -%}
    {%- set existing = sagaz_dbt.find_relation(relation.database, relation.schema, name, memo) -%}
    {%- if existing is not none -%}
      {%- set kept = sagaz_dbt.kept_relation(existing) -%}
      {%- if sagaz_dbt.is_journaled_backup(kept) and sagaz_dbt.find_relation(kept.database, kept.schema, kept.identifier, memo) is none -%}
        {{- log("sagaz-dbt: keeping " ~ existing ~ " as " ~ kept ~ " instead of dropping it") -}}
        {%- do sagaz_dbt.spark_rename(existing, kept.identifier, memo) -%}
        {{- return(none) -}}
      {%- endif -%}
    {%- endif -%}
  {%- endif -%}
  {{- return(adapter.dispatch('drop_relation', 'dbt')(relation)) -}}
{%- endmacro %}
