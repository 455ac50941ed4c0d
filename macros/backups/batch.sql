{#-
  The row backup of an incremental model, taken from the batch dbt itself computed.

  dbt's incremental materialization (dbt-adapters' and dbt-duckdb's) first writes the new
  batch to a temporary relation (`<model>__dbt_tmp`), then asks the adapter for the
  strategy's SQL (`adapter.get_incremental_strategy_macro`) and runs it; the backup, the
  merge and the guard share the node's transaction.  sagaz-dbt wraps that adapter call for the run
  (sagaz_dbt/saga/batch_backups.py): just before dbt renders the strategy's SQL,
  `backup_batch_rows` keeps the distinct keys of the batch dbt will write and copies the
  target's rows under them.  The batch query is then evaluated once, by dbt, instead of a
  second time in a pre-hook (a full scan of an unindexed source), and the keys are exactly
  the ones dbt writes, whatever the query calls (random(), clock functions).

  `require_batch_backup`, a post-hook inside the same transaction, fails the node when dbt
  merged into the pre-run table without that backup having run (a materialization that does
  not ask the adapter for its strategy): the node's change then rolls back with it, and the
  run with the node, instead of committing a change nothing can put back.
-#}

{% macro backup_batch_rows(batch, key_columns, copy_identifier, keys_identifier) -%}
  {#- `batch`: dbt's temporary relation of the new rows.  Called from Python (the strategy
      wrapper), in the model's context, right before dbt renders the strategy's SQL. -#}
  {%- set existing = sagaz_dbt.row_backup_of() -%}
  {%- if existing is none -%}
    {%- do exceptions.raise_compiler_error("sagaz-dbt: dbt is about to merge its batch into " ~ this
          ~ ", but no table of that name was found to back up first. The node is stopped so that"
          ~ " the run rolls back; nothing it would have changed was changed.") -%}
  {%- endif -%}
  {%- do sagaz_dbt.copy_rows_of_keys(existing, batch, key_columns, copy_identifier, keys_identifier) -%}
  {{- return('') -}}
{%- endmacro %}


{% macro require_batch_backup(keys_identifier) -%}
  {#- The post-hook guard of a node whose backup is taken from dbt's batch.  The table
      existed when the run armed (the hook is only added then); unless this is a full
      refresh (a rename swap, kept without a copy), dbt merged into it, and the batch
      backup must have left its keys table. -#}
  {%- if not sagaz_dbt.is_armed() or should_full_refresh() -%}
    {{- return('') -}}
  {%- endif -%}
  {%- set keys = sagaz_dbt.backup_relation(this, keys_identifier) -%}
  {%- if adapter.get_relation(keys.database, keys.schema, keys.identifier) is none -%}
    {%- do exceptions.raise_compiler_error("sagaz-dbt: " ~ this ~ " was changed without the backup of its"
          ~ " touched rows (dbt's materialization did not ask the adapter for its incremental strategy)."
          ~ " The node is failed inside its transaction, so its change is undone and the run rolls back."
          ~ " Set meta: {sagaz: {snapshot: copy}} on the model to back it up by a whole copy instead.") -%}
  {%- endif -%}
  {{- return('') -}}
{%- endmacro %}
