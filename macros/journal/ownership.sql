{#-
  Who owns a run, in the run's own journal row: a token unique to the process's run, its host
  and pid, the server process holding its lock, and a heartbeat (seconds since the epoch, on
  the warehouse's clock, so that hosts with skewed clocks agree).

  Every phase claims its run first, in the phase's own transaction (`journal_claim_run`):
  the claim updates the row only while it still has the status and owner the phase expects,
  and the phase aborts unless exactly that row is now ours.  On Postgres the update holds the
  row until the phase commits, so two processes can never both commit a phase of one run:
  the second re-reads the row after the first commits and finds it moved on.
-#}

{% macro journal_ensure_owner(runs) -%}
  {#- Journals written before ownership existed gain its columns (only when missing: an
      alter takes an exclusive lock on the journal, which would queue behind live runs). -#}
  {%- set have = adapter.get_columns_in_relation(runs) | map(attribute='name') | map('lower') | list -%}
  {%- for name, type in [('owner_token', 'varchar(64)'), ('owner_host', 'varchar(256)'), ('owner_pid', 'integer'),
                         ('lock_pid', 'integer'), ('heartbeat_epoch', 'double precision')] -%}
    {%- if name not in have -%}
      {%- call statement('sagaz_journal_owner_' ~ name, auto_begin=True) -%}
        {{ sagaz_dbt.journal_add_column_sql(runs, name, type, if_not_exists=false) }}
      {%- endcall -%}
    {%- endif -%}
  {%- endfor -%}
{%- endmacro %}


{% macro db_epoch() -%}
  {{- return(adapter.dispatch('db_epoch', 'sagaz_dbt')()) -}}
{%- endmacro %}

{% macro default__db_epoch() -%}
  {{- exceptions.raise_compiler_error("sagaz-dbt: db_epoch is not implemented for " ~ adapter.type()) -}}
{%- endmacro %}


{% macro journal_set_owner(database, schema, run_id, owner) -%}
  {%- set runs = sagaz_dbt.journal_relation(database, schema, 'sagaz_runs') -%}
  {%- set b = get_binding_char() -%}
  {%- set sql -%}
    update {{ runs }} set owner_token = {{ b }}, owner_host = {{ b }}, owner_pid = {{ b }}, lock_pid = {{ b }},
      heartbeat_epoch = {{ sagaz_dbt.db_epoch() }}
    where run_id = {{ b }}
  {%- endset -%}
  {%- do adapter.add_query(sql, bindings=[owner.token, owner.host, owner.pid, owner.lock_pid, run_id]) -%}
{%- endmacro %}


{% macro journal_claim_run(database, schema, run_id, expected, token, owner) -%}
  {#- Make the run ours if it is still `expected` and owned by `token` (none: a journal
      older than ownership).  Returns how many rows are now ours with that status: exactly
      one, or the phase must abort. -#}
  {%- set runs = sagaz_dbt.journal_relation(database, schema, 'sagaz_runs') -%}
  {%- set b = get_binding_char() -%}
  {%- set bindings = [owner.token, owner.host, owner.pid, owner.lock_pid, run_id, expected] -%}
  {%- set sql -%}
    update {{ runs }} set owner_token = {{ b }}, owner_host = {{ b }}, owner_pid = {{ b }}, lock_pid = {{ b }},
      heartbeat_epoch = {{ sagaz_dbt.db_epoch() }}, updated_at = current_timestamp
    where run_id = {{ b }} and status = {{ b }}
      and {% if token is none %}owner_token is null{% else %}owner_token = {{ b }}{% do bindings.append(token) %}{% endif %}
  {%- endset -%}
  {%- do adapter.add_query(sql, bindings=bindings) -%}
  {%- set check -%}
    select count(*) from {{ runs }}
    where run_id = {{ sagaz_dbt.sql_string(run_id) }} and status = {{ sagaz_dbt.sql_string(expected) }}
      and owner_token = {{ sagaz_dbt.sql_string(owner.token) }}
  {%- endset -%}
  {{- return(run_query(check).columns[0].values()[0]) -}}
{%- endmacro %}
