{#-
  Row-level snapshots, for relations dbt changes in place.  They run as a pre-hook that
  sagaz-dbt adds to the node for the duration of the run (it is never written to the
  project or to target/manifest.json), so they execute inside the node's own transaction:
  the backup and dbt's change commit together, or neither does.

  keys:    incremental models with a unique key or partition column.  The rows the run can
           touch are those whose key is in the new batch; only those are copied, together
           with the batch's keys (O(batch), not O(table)).
  current: dbt snapshots.  A snapshot run only closes current rows and inserts new current
           rows; closed history is never touched, so only the current rows are copied.
  window:  microbatch models (DuckDB).  Each batch deletes and inserts exactly its event-time
           window; the rows from the first batch on are copied while arming (a pre-hook
           would run for the first batch only).
-#}

{% macro window_filter(alias, window) -%}
  {#- The same comparison dbt-duckdb's microbatch delete makes: the event-time column
      against the batch bounds as dbt renders them. -#}
  {%- set col = alias ~ '.' ~ adapter.quote(window.event_time) -%}
  {%- set parts = [col ~ ' >= ' ~ sagaz_dbt.sql_string(window.start)] -%}
  {%- if window.end -%}
    {%- do parts.append(col ~ ' < ' ~ sagaz_dbt.sql_string(window.end)) -%}
  {%- endif -%}
  {{- return(parts | join(' and ')) -}}
{%- endmacro %}

{% macro key_scopes(alias, keys, columns) -%}
  {#- Predicates selecting the rows of `alias` whose key is in `keys`, null-safely.  Plain
      equality first: Postgres can hash-join or index it, while IS NOT DISTINCT FROM makes it
      scan the whole table per key.  Keys with a NULL get a second, separate predicate (an OR
      in the same one would lose the index), and only when the batch has such keys. -#}
  {%- set eq = [] -%}
  {%- set null_safe = [] -%}
  {%- set any_null_t = [] -%}
  {%- set any_null_k = [] -%}
  {%- for col in columns -%}
    {%- set c = adapter.quote(col) -%}
    {%- do eq.append(alias ~ '.' ~ c ~ ' = sagaz_k.' ~ c) -%}
    {%- do null_safe.append(alias ~ '.' ~ c ~ ' is not distinct from sagaz_k.' ~ c) -%}
    {%- do any_null_t.append(alias ~ '.' ~ c ~ ' is null') -%}
    {%- do any_null_k.append(c ~ ' is null') -%}
  {%- endfor -%}
  {%- set scopes = ['exists (select 1 from ' ~ keys ~ ' as sagaz_k where ' ~ eq | join(' and ') ~ ')'] -%}
  {%- set null_keys = run_query('select count(*) from ' ~ keys ~ ' where ' ~ any_null_k | join(' or ')) -%}
  {%- if null_keys.columns[0].values()[0] > 0 -%}
    {%- do scopes.append('(' ~ any_null_t | join(' or ') ~ ') and exists (select 1 from ' ~ keys
          ~ ' as sagaz_k where ' ~ null_safe | join(' and ') ~ ')') -%}
  {%- endif -%}
  {{- return(scopes) -}}
{%- endmacro %}


{% macro analyze_keys(relation) -%}
  {{- return(adapter.dispatch('analyze_keys', 'sagaz_dbt')(relation)) -}}
{%- endmacro %}

{% macro default__analyze_keys(relation) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: analyze_keys is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}


{% macro row_backup_of() -%}
  {#- The pre-hooks' common start: the model's pre-run table, or none when there is nothing
      to back up (no run armed, or no table yet: the run creates it, and compensation
      drops it).  Its row backups go to `backup_relation(existing, identifier)` (naming.sql). -#}
  {%- if not sagaz_dbt.is_armed() -%}
    {{- return(none) -}}
  {%- endif -%}
  {%- set memo = {} -%}
  {%- set wanted = sagaz_dbt.name_key(sagaz_dbt.catalog_identifier(this.identifier, 'identifier', memo), memo) -%}
  {#- dbt's relation cache first: it is what the materialization itself just read to decide
      whether to merge into the table (load_cached_relation), and it answers without a
      catalog query (a listing cost ~60 ms a node at 1,000 relations).  Only a hit is
      trusted, and only when it names exactly the node's table: a miss (a table made
      outside dbt's knowledge, or the schema not cached) or anything else falls back to the
      exact catalog listing, so a backup is never skipped on the cache's word.  A stale hit
      (the table dropped behind dbt's back) cannot lose data: the backup's read of it fails,
      and the node with it. -#}
  {%- set cached = adapter.get_relation(this.database, this.schema, this.identifier) -%}
  {%- if cached is not none and cached.is_table and sagaz_dbt.name_key(cached.identifier, memo) == wanted -%}
    {#- named as the exact lookup names it, so the backup's name is the one armed -#}
    {{- return(api.Relation.create(database=this.database, schema=this.schema, identifier=cached.identifier, type='table')) -}}
  {%- endif -%}
  {%- set existing = sagaz_dbt.find_node_relation(this.database, this.schema, this.identifier, memo) -%}
  {{- return(existing if existing is not none and existing.is_table else none) -}}
{%- endmacro %}


{% macro backup_touched_rows(key_columns, copy_identifier, keys_identifier) -%}
  {#- The pre-hook form: the batch's keys come from evaluating the model's query once more
      (dbt has not computed its batch yet), so that query must be deterministic within the
      transaction.  Nodes whose batch dbt computes into `__dbt_tmp` first take their backup
      from there instead (backup_batch_rows, batch.sql). -#}
  {%- set existing = none if should_full_refresh() else sagaz_dbt.row_backup_of() -%}
  {%- if existing is none -%}
    {{- return('') -}}
  {%- endif -%}
  {%- do sagaz_dbt.copy_rows_of_keys(existing, '(' ~ model.compiled_code ~ ')', key_columns, copy_identifier, keys_identifier) -%}
  {{- return('') -}}
{%- endmacro %}


{% macro copy_rows_of_keys(existing, batch, key_columns, copy_identifier, keys_identifier) -%}
  {#- Keep the batch's distinct keys (`batch`: a relation, or a parenthesised query) and
      copy the rows of `existing` under them. -#}
  {%- set keys = sagaz_dbt.backup_relation(existing, keys_identifier) -%}
  {%- set copy = sagaz_dbt.backup_relation(existing, copy_identifier) -%}
  {%- set quoted = [] -%}
  {%- for col in key_columns -%}{%- do quoted.append(adapter.quote(col)) -%}{%- endfor -%}
  {%- call statement('sagaz_backup_keys', auto_begin=True) -%}
    create table {{ keys }} as
    select distinct {{ quoted | join(', ') }} from {{ batch }} as sagaz_batch
  {%- endcall -%}
  {%- do adapter.cache_added(keys) -%}
  {%- do sagaz_dbt.analyze_keys(keys) -%}
  {%- for scope in sagaz_dbt.key_scopes('sagaz_t', keys, key_columns) -%}
    {%- call statement('sagaz_backup_rows', auto_begin=True) -%}
      {% if loop.first %}create table {{ copy }} as{% else %}insert into {{ copy }}{% endif %}
      select * from {{ existing }} as sagaz_t where {{ scope }}
    {%- endcall -%}
  {%- endfor -%}
{%- endmacro %}


{% macro current_rows_filter(alias, valid_to, valid_to_current) -%}
  {%- set col = alias ~ '.' ~ adapter.quote(valid_to) -%}
  {%- if valid_to_current -%}
    {{- return('(' ~ col ~ ' is null or ' ~ col ~ ' = ' ~ valid_to_current ~ ')') -}}
  {%- endif -%}
  {{- return(col ~ ' is null') -}}
{%- endmacro %}


{% macro backup_current_rows(copy_identifier, valid_to, valid_to_current) -%}
  {%- set existing = sagaz_dbt.row_backup_of() -%}
  {%- if existing is none -%}
    {{- return('') -}}
  {%- endif -%}
  {%- set copy = sagaz_dbt.backup_relation(existing, copy_identifier) -%}
  {%- call statement('sagaz_backup_current', auto_begin=True) -%}
    create table {{ copy }} as
    select * from {{ existing }} as sagaz_t
    where {{ sagaz_dbt.current_rows_filter('sagaz_t', valid_to, valid_to_current) }}
  {%- endcall -%}
  {{- return('') -}}
{%- endmacro %}


{% macro restore_rows(current, copy, step, detail, script) -%}
  {#- Put back exactly the rows a row-level snapshot covers: delete what the run may have
      written there, re-insert the pre-run rows, and drop columns the run added.  Reads
      first (the caller flushed the queue), then only queued writes. -#}
  {%- set copy_cols = [] -%}
  {%- for col in sagaz_dbt.relation_columns(copy, step.get('memo')) -%}{%- do copy_cols.append(col.name) -%}{%- endfor -%}
  {%- set added = [] -%}
  {%- for col in sagaz_dbt.relation_columns(current, step.get('memo')) -%}
    {%- if col.name not in copy_cols -%}{%- do added.append(col.name) -%}{%- endif -%}
  {%- endfor -%}
  {%- if added -%}
    {%- do sagaz_dbt.drop_added_columns(current, added, step, script) -%}
  {%- endif -%}
  {%- if detail.mode == 'keys' -%}
    {%- set keys = sagaz_dbt.step_backup(step, 'keys') -%}
    {%- set scopes = sagaz_dbt.key_scopes('sagaz_t', keys, detail.key_columns) -%}
  {%- elif detail.mode == 'window' -%}
    {%- set scopes = [sagaz_dbt.window_filter('sagaz_t', detail)] -%}
  {%- else -%}
    {%- set scd = adapter.quote(detail.scd_id) -%}
    {%- set scopes = [
          sagaz_dbt.current_rows_filter('sagaz_t', detail.valid_to, detail.valid_to_current)
          ~ ' or sagaz_t.' ~ scd ~ ' in (select ' ~ scd ~ ' from ' ~ copy ~ ')'] -%}
  {%- endif -%}
  {%- set quoted = [] -%}
  {%- for col in copy_cols -%}{%- do quoted.append(adapter.quote(col)) -%}{%- endfor -%}
  {%- for scope in scopes -%}
    {%- do script.append('delete from ' ~ current ~ ' as sagaz_t where ' ~ scope) -%}
  {%- endfor -%}
  {%- do script.append('insert into ' ~ current ~ ' (' ~ quoted | join(', ') ~ ') select ' ~ quoted | join(', ') ~ ' from ' ~ copy) -%}
  {%- do sagaz_dbt.queue_drop(script, copy) -%}
  {%- if detail.mode == 'keys' and keys is not none -%}
    {%- do sagaz_dbt.queue_drop(script, keys) -%}
  {%- endif -%}
  {{- return('rows restored (' ~ detail.mode ~ ')') -}}
{%- endmacro %}


{% macro drop_added_columns(relation, columns, step, script) -%}
  {#- Queue the drop of the columns a run added to `relation`. -#}
  {{- return(adapter.dispatch('drop_added_columns', 'sagaz_dbt')(relation, columns, step, script)) -}}
{%- endmacro %}

{% macro default__drop_added_columns(relation, columns, step, script) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: drop_added_columns is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}

{% macro queue_drop_columns(relation, columns, script) -%}
  {#- Engine-neutral (standard ALTER TABLE ... DROP COLUMN, quoted by the adapter): shared
      by the postgres__ and duckdb__ implementations (engines/postgres.sql, engines/duckdb.sql). -#}
  {%- for name in columns -%}
    {%- do script.append('alter table ' ~ relation ~ ' drop column ' ~ adapter.quote(name)) -%}
  {%- endfor -%}
{%- endmacro %}
