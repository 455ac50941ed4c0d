{#-
  Arming a step: before dbt touches a node's relation, record what exists and take the
  snapshot its strategy needs.  Table and view replacements need nothing here: the
  rename_relation override keeps dbt's own backup.  Relations that dbt changes in place
  (incremental merges, seed reloads, dbt snapshots, DuckDB tables rebuilt in place because
  of foreign keys) get a copy.
-#}

{% macro arm_step(step, indexes, memo=none, owners=none, isolate=false) -%}
  {%- set memo = memo if memo is not none and 'run_token' in memo else sagaz_dbt.naming_memo({} if memo is none else memo) -%}
  {%- set out = {'pre_type': none, 'identifier': sagaz_dbt.catalog_identifier(step.identifier, 'identifier', memo), 'kept_identifier': none,
                 'copy_identifier': none, 'keys_identifier': none, 'index_ddl': [], 'copied': false} -%}
  {%- set existing = sagaz_dbt.find_relation(step.database, step.schema, out.identifier, memo) -%}
  {%- do sagaz_dbt.claim_name(step, out.identifier, false, memo, owners) -%}
  {%- if existing is none -%}
    {#- A schema the run creates for it is dropped again by a rollback, when left empty. -#}
    {%- do out.update({'new_schema': not sagaz_dbt.schema_exists(step.database, step.schema, memo)}) -%}
    {{- return(out) -}}
  {%- endif -%}
  {%- do out.update({'pre_type': existing.type | string, 'identifier': existing.identifier}) -%}

  {%- if 'moves' not in memo -%}
    {%- do memo.update({'moves': sagaz_dbt.moves_relations_across_schemas()}) -%}
  {%- endif -%}
  {%- set moves = memo['moves'] -%}
  {%- if moves or not isolate -%}
    {%- set kept = sagaz_dbt.kept_relation(existing, memo) -%}
    {%- do sagaz_dbt.claim_name(step, kept.identifier, true, memo, owners) -%}
    {%- do out.update({'kept_identifier': kept.identifier}) -%}
    {%- if moves -%}
      {#- The rename override (or the materialized-view pre-hook) moves it there. -#}
      {%- do out.update({'kept_schema': sagaz_dbt.ensure_backup_schema(existing, memo)}) -%}
    {%- endif -%}
  {%- elif existing.is_view -%}
    {#- isolate_backups where a kept view would stay in the user's schema: dbt drops its
        backup as usual, and a rollback re-creates the view from its recorded DDL. -#}
    {%- do out.update({'view_sql': sagaz_dbt.view_ddl(existing)}) -%}
  {%- endif -%}

  {%- if existing.is_materialized_view -%}
    {#- dbt may change its indexes in place (matviews.sql). -#}
    {%- do out.update({'view_indexes': sagaz_dbt.relation_index_ddl(existing)}) -%}
  {%- endif -%}
  {%- if existing.is_table -%}
    {%- do out.update({'index_ddl': indexes.get(sagaz_dbt.table_key(existing), [])}) -%}
    {%- set in_place = sagaz_dbt.rebuilt_in_place(existing) -%}
    {%- if step.kind in ('keys', 'current') and not in_place -%}
      {#- The node's pre-hook takes these, inside its own transaction. -#}
      {%- do out.update({'backup_schema': sagaz_dbt.ensure_backup_schema(existing, memo)}) -%}
      {%- do out.update({
            'copy_identifier': sagaz_dbt.copy_relation(existing, memo).identifier,
            'keys_identifier': sagaz_dbt.run_name(existing.identifier, 'ky', memo)}) -%}
      {%- do sagaz_dbt.claim_name(step, out.copy_identifier, true, memo, owners) -%}
      {%- do sagaz_dbt.claim_name(step, out.keys_identifier, true, memo, owners) -%}
    {%- elif step.kind != 'swap' or in_place or out.kept_identifier is none -%}
      {#- (no kept identifier: isolate_backups on an engine that cannot move the kept table) -#}
      {#- A microbatch run writes only inside its event-time window: copy just that. -#}
      {%- set window = step.kind == 'window' and not in_place -%}
      {%- set copy = sagaz_dbt.copy_relation(existing, memo) -%}
      {%- do sagaz_dbt.claim_name(step, copy.identifier, true, memo, owners) -%}
      {%- do out.update({'backup_schema': sagaz_dbt.ensure_backup_schema(existing, memo)}) -%}
      {%- call statement('sagaz_copy', auto_begin=True) -%}
        create table {{ copy }} as select * from {{ existing }} as sagaz_t
        {%- if window %} where {{ sagaz_dbt.window_filter('sagaz_t', step.window) }}{% endif %}
      {%- endcall -%}
      {%- do adapter.cache_added(copy) -%}
      {%- do out.update({'copy_identifier': copy.identifier, 'copied': true, 'window_copy': window}) -%}
    {%- endif -%}
    {%- if in_place -%}
      {#- Restored by re-creating it from this DDL (see recreate_in_place). -#}
      {%- do out.update({'create_sql': sagaz_dbt.table_ddl(existing)}) -%}
    {%- endif -%}
  {%- endif -%}
  {{- return(out) -}}
{%- endmacro %}


{% macro table_key(relation) -%}
  {{- return((relation.database ~ '.' ~ relation.schema ~ '.' ~ relation.identifier) | lower) -}}
{%- endmacro %}


{% macro index_ddl_by_table(steps) -%}
  {#- {table_key: [CREATE INDEX ...]} of the steps' tables: what a restore must rebuild. -#}
  {{- return(adapter.dispatch('index_ddl_by_table', 'sagaz_dbt')(steps)) -}}
{%- endmacro %}

{% macro default__index_ddl_by_table(steps) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: index_ddl_by_table is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}


{% macro view_ddl(relation) -%}
  {#- The statement that re-creates the view `relation` as it is now. -#}
  {{- return(adapter.dispatch('view_ddl', 'sagaz_dbt')(relation)) -}}
{%- endmacro %}

{% macro default__view_ddl(relation) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: view_ddl is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}


{% macro table_ddl(relation) -%}
  {#- The DDL that re-creates a table rebuilt in place (none where no table is). -#}
  {{- return(adapter.dispatch('table_ddl', 'sagaz_dbt')(relation)) -}}
{%- endmacro %}

{% macro default__table_ddl(relation) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: table_ddl is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}


{% macro rebuilt_in_place(relation) -%}
  {#- Whether dbt's adapter rebuilds this table in place instead of the rename swap. -#}
  {{- return(adapter.dispatch('rebuilt_in_place', 'sagaz_dbt')(relation)) -}}
{%- endmacro %}

{% macro default__rebuilt_in_place(relation) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: rebuilt_in_place is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}


{% macro arm_run(database, schema, run, steps, isolate=false) -%}
  {#- One call arms a whole run (a macro call costs tens of milliseconds of context
      building, so per-step calls would grow with the project): the journal's run row and
      every step's snapshot, in the caller's transaction. -#}
  {%- do sagaz_dbt.journal_ensure(database, schema) -%}
  {%- do sagaz_dbt.journal_insert_run(database, schema, run) -%}
  {%- do sagaz_dbt.marks_ensure(database, schema) -%}
  {%- set indexes = sagaz_dbt.index_ddl_by_table(steps) -%}
  {%- set armed = [] -%}
  {%- set memo = sagaz_dbt.naming_memo(sagaz_dbt.phase_memo()) -%}
  {%- set wanted = [] -%}
  {%- for step in steps -%}
    {%- do wanted.extend([(step.database, step.schema), (step.database, sagaz_dbt.run_backup_schema(step.schema, memo))]) -%}
  {%- endfor -%}
  {%- do sagaz_dbt.want_schemas(memo, wanted) -%}
  {%- set owners = {} -%}
  {%- set temporaries = sagaz_dbt.dbt_temporaries(steps) -%}
  {%- for step in steps -%}
    {%- set out = sagaz_dbt.arm_step(step, indexes, memo, owners, isolate) -%}
    {%- if temporaries is not none -%}
      {#- dbt temporaries left before this run: a rollback never drops them (temporaries.sql). -#}
      {%- set mine = [] -%}
      {%- for t in temporaries if (t[0] | lower) == (step.database | lower) and (t[2] | lower)[:-20] == ((step.identifier ~ '__dbt_tmp') | lower) -%}
        {%- do mine.append(t) -%}
      {%- endfor -%}
      {%- do out.update({'pre_temporaries': mine}) -%}
    {%- endif -%}
    {%- do armed.append(out) -%}
  {%- endfor -%}
  {#- What recovery compares each pre-run relation with (fingerprint.sql). -#}
  {%- do sagaz_dbt.add_fingerprints(steps, armed) -%}
  {{- return(armed) -}}
{%- endmacro %}



{% macro claim_name(step, name, is_backup, memo, owners) -%}
  {#- Each name a run uses belongs to exactly one step, and a backup's name does not exist
      yet: a swap or drop by a name the journal holds can then only touch that step's
      own backup.  A clash is refused before anything is kept or copied under it (and the
      arming transaction rolls back, so nothing is changed). -#}
  {%- if owners is none -%}{{- return(none) -}}{%- endif -%}
  {%- set who = step.schema ~ '.' ~ step.identifier -%}
  {%- if 'fold_case' not in memo -%}{%- do sagaz_dbt.name_key('', memo) -%}{%- endif -%}
  {#- name_key's rule inline: this runs up to four times per step -#}
  {%- set slot = (step.database | lower, step.schema, (name | lower) if memo['fold_case'] else name) -%}
  {%- if slot in owners -%}
    {%- do exceptions.raise_compiler_error("sagaz-dbt: refusing to arm: " ~ who ~ " and " ~ owners[slot]
          ~ " would both use the name " ~ step.schema ~ "." ~ name
          ~ ". Give one of them another alias, then run again. Nothing was changed.") -%}
  {%- endif -%}
  {%- do owners.update({slot: who}) -%}
  {#- (the backup schema's name from the memo when arm_run put it there: a call less per name) -#}
  {%- if is_backup and (sagaz_dbt.find_relation(step.database, step.schema, name, memo) is not none
        or sagaz_dbt.find_relation(step.database, memo.get(('backup_schema_name', step.schema)) or sagaz_dbt.run_backup_schema(step.schema, memo), name, memo) is not none) -%}
    {%- do exceptions.raise_compiler_error("sagaz-dbt: refusing to arm: " ~ step.schema ~ "." ~ name
          ~ " (the backup name of " ~ who ~ ") already exists, left by another run or made by hand."
          ~ " Drop it if it is not needed (`sagaz-dbt recover` first, if a run was interrupted), then run again."
          ~ " Nothing was changed.") -%}
  {%- endif -%}
{%- endmacro %}


{% macro ensure_backup_schema(relation, memo) -%}
  {#- The run's backup schema of `relation`'s schema (naming.sql), created once per run in
      the arming transaction, so the journal that names it commits with it.  Returns its name. -#}
  {%- set memo = {} if memo is none else memo -%}
  {%- set schema_relation = sagaz_dbt.in_backup_schema(relation, memo).without_identifier() -%}
  {%- set slot = ('backup_schema', (relation.database | lower), schema_relation.schema) -%}
  {%- if slot not in memo -%}
    {%- call statement('sagaz_backup_schema', auto_begin=True) -%}
      {{ sagaz_dbt.create_journal_schema(schema_relation) }}
    {%- endcall -%}
    {%- do memo.update({slot: true}) -%}
  {%- endif -%}
  {{- return(schema_relation.schema) -}}
{%- endmacro %}
