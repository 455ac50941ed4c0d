{#-
  The places where sagaz-dbt hooks into dbt's own materializations.

  dbt resolves macros that the *adapter* calls by name (adapter.rename_relation,
  adapter.drop_relation, the Postgres relation-link query) with package macros ahead of
  dbt's internal ones, so defining them here overrides dbt for every project that has this
  package in its packages folder, without any edit to the project's files.  All
  overrides are inert unless a sagaz-dbt run has armed them (SAGAZ_DBT_RUN_ID is set), so
  a plain `dbt build` on the same project behaves exactly as before.
-#}

{% macro rename_relation(from_relation, to_relation) -%}
  {#-
    dbt's table, view and incremental materializations rename the existing relation to
    `<name>__dbt_backup` inside the transaction that swaps in the new one, and drop that
    backup after the commit.  While armed we rename the existing relation straight to its
    sagaz name instead: the pre-run relation is kept with zero copying, and it becomes
    visible under that name in the same transaction as the swap, so no crash can lose it.
    dbt's later `drop ... if exists <name>__dbt_backup` then finds nothing to drop.
    The sagaz name comes from `from_relation`'s full identifier, never from dbt's backup
    name, which dbt-postgres cuts to 51 characters (two long aliases would share it).
  -#}
  {%- if to_relation.identifier.endswith('__dbt_backup') and sagaz_dbt.is_armed() and sagaz_dbt.keeps_backups() -%}
    {%- set kept = sagaz_dbt.kept_relation(from_relation).incorporate(type=to_relation.type) -%}
    {%- set home = sagaz_dbt.kept_home(kept) -%}
    {#- dbt has already moved its cache entry to the backup name: move it on to the real
        name, so a second long model whose backup name dbt cut to the same 63 characters,
        running in another thread, does not find that name taken in the cache. -#}
    {%- do adapter.cache_renamed(to_relation, home) -%}
    {{- log("sagaz-dbt: keeping " ~ from_relation ~ " as " ~ home) -}}
    {%- do adapter.dispatch('rename_relation', 'dbt')(from_relation, kept) -%}
    {{- return(sagaz_dbt.move_kept(kept, home)) -}}
  {%- endif -%}
  {{- return(adapter.dispatch('rename_relation', 'dbt')(from_relation, to_relation)) -}}
{%- endmacro %}


{% macro move_kept(kept, home) -%}
  {#- Into the backup schema, in the caller's (dbt's own swap) transaction: from the moment
      it commits, no macro listing the user's schema sees the kept relation. -#}
  {%- if home.schema != kept.schema -%}
    {%- call statement('sagaz_move_kept') -%}
      {{ sagaz_dbt.set_schema_sql(kept, home.schema) }}
    {%- endcall -%}
  {%- endif -%}
{%- endmacro %}


{% macro drop_relation(relation) -%}
  {#-
    dbt drops a seed's table before a full-refresh reload with DROP ... CASCADE.  On Postgres
    that also drops every view that reads the seed (staging models, hand-made views), whose
    pre-run definitions would then be lost.  While armed, the pre-run relation is renamed to
    its sagaz name instead: the views follow it by OID, compensation swaps it back, and
    release drops it after re-pointing the views.
  -#}
  {%- if not sagaz_dbt.is_armed() -%}
    {{- return(adapter.dispatch('drop_relation', 'dbt')(relation)) -}}  {#- plain dbt, any adapter -#}
  {%- endif -%}
  {{- return(sagaz_dbt.drop_or_keep(relation)) -}}
{%- endmacro %}

{% macro drop_or_keep(relation) -%}
  {{- return(adapter.dispatch('drop_or_keep', 'sagaz_dbt')(relation)) -}}
{%- endmacro %}

{% macro default__drop_or_keep(relation) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: drop_or_keep is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}


{% macro is_journaled_backup(kept) -%}
  {%- set journal_schema = env_var('SAGAZ_DBT_JOURNAL', '') -%}
  {%- if not journal_schema -%}
    {{- return(false) -}}
  {%- endif -%}
  {%- set steps = sagaz_dbt.journal_relation(kept.database, journal_schema, 'sagaz_steps') -%}
  {%- set sql -%}
    select count(*) from {{ steps }}
    where run_id = {{ sagaz_dbt.sql_string(env_var('SAGAZ_DBT_RUN_ID', '')) }}
      and kept_identifier = {{ sagaz_dbt.sql_string(kept.identifier) }}
  {%- endset -%}
  {{- return(run_query(sql).columns[0].values()[0] > 0) -}}
{%- endmacro %}
