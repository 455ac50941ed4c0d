{#-
  Fingerprints: has a relation changed since the interrupted run armed or built it?

  Recovery restores each step from what the journal says the run left.  If something else
  (a plain `dbt build`, a hand-made fix) changed a relation between the crash and
  `sagaz-dbt recover`, restoring would mix three states.  So the run records a fingerprint
  of each relation twice: while arming (the pre-run relation) and, in an injected post-hook
  inside the node's own transaction, what the node left ("marks", table `sagaz_marks`).
  Recovery compares the relation it finds with both and refuses when it matches neither.

  A fingerprint is a JSON object: `id` must be equal; engine-specific extras are checked by
  `fingerprint_still_holds`.
    Postgres: id = relkind, OID, relfilenode and, for a view, the xmin of its pg_rewrite row
      (CREATE OR REPLACE VIEW keeps the OID but rewrites that row; the view's text would not
      do: it follows the renames of the tables it reads).  A rebuild gives a new OID,
      TRUNCATE a new relfilenode (seeds).  Plus `xid`, the 32-bit id of the
      transaction that took it; a row whose xmin is younger than `xid` was written later
      (incremental merges, snapshots: in place, same OID).  O(1) to take; recovery scans
      the table once (an EXISTS) for in-place writes.  A later pure DELETE is not seen.
    DuckDB: OIDs are reassigned when the file is reopened and no row carries a transaction
      id, so the id is the content: the md5 of the table's columns (name, type, NOT NULL,
      default, primary key), the row count and the sum of the rows' hashes (0.12 s per 10M
      rows), or a view's SQL.  The columns come from pragma_table_info, one catalog lookup;
      earlier sagaz-dbt versions took the table's DDL from duckdb_tables(), which lists the
      whole catalog per call (during a run, the kept relations too: ~5 ms a node on 1,000
      models), and a run it armed is still recognised (duckdb__fingerprint_matches).
      Not seen on DuckDB: a change to a table's CHECK, UNIQUE or FOREIGN KEY constraints or
      a column's collation alone (same columns, same rows): the catalog's one function that
      lists them, duckdb_constraints(), costs ~30 ms a call at 2,000 relations.
-#}

{% macro marks_relation(database, schema) -%}
  {{- return(sagaz_dbt.journal_relation(database, schema, 'sagaz_marks')) -}}
{%- endmacro %}


{% macro marks_ensure(database, schema) -%}
  {#- In the arming transaction (never on a read path: read-only commands write nothing). -#}
  {%- call statement('sagaz_marks_table', auto_begin=True) -%}
    {{ sagaz_dbt.journal_table_sql(sagaz_dbt.marks_relation(database, schema), [
         ('run_id', 'varchar(64)', true), ('seq', 'integer', true), ('fingerprint', 'text', true)]) }}
  {%- endcall -%}
{%- endmacro %}


{% macro fingerprint_sql(database, schema, identifier, is_view) -%}
  {#- One SELECT giving the fingerprint's JSON text, or no row when the relation is absent. -#}
  {{- return(adapter.dispatch('fingerprint_sql', 'sagaz_dbt')(database, schema, identifier, is_view)) -}}
{%- endmacro %}

{% macro default__fingerprint_sql(database, schema, identifier, is_view) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: fingerprint_sql is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}


{% macro add_fingerprints(steps, armed) -%}
  {#- Arming: the fingerprint of every relation that exists before the run, into its
      `armed` entry, with ONE statement for the whole run (dbt costs ~6 ms per statement). -#}
  {%- set entries = [] -%}
  {%- for step in steps -%}
    {%- set out = armed[loop.index0] -%}
    {%- if out.pre_type is not none -%}
      {%- do entries.append({'i': loop.index0, 'database': step.database, 'schema': step.schema,
                             'identifier': out.identifier, 'is_view': out.pre_type == 'view'}) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if entries -%}
    {%- for row in run_query(sagaz_dbt.fingerprints_sql(entries)).rows -%}
      {%- do armed[row[0] | int].update({'fingerprint': row[1]}) -%}
    {%- endfor -%}
  {%- endif -%}
{%- endmacro %}


{% macro fingerprints_sql(entries) -%}
  {#- One SELECT of (sagaz_i, fingerprint) for many relations, `entries` [{i, database,
      schema, identifier, is_view}]; a relation that is absent gives no row.  Each row is
      exactly what fingerprint_sql gives for that relation. -#}
  {{- return(adapter.dispatch('fingerprints_sql', 'sagaz_dbt')(entries)) -}}
{%- endmacro %}

{% macro default__fingerprints_sql(entries) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: fingerprints_sql is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}

{% macro union_fingerprints_sql(entries) -%}
  {#- fingerprints_sql as one fingerprint_sql per relation, in a union: right on any engine
      whose fingerprint_sql is; an engine with a cheaper batch form dispatches to that. -#}
  {%- set parts = [] -%}
  {%- for e in entries -%}
    {%- do parts.append("select " ~ (e.i | int) ~ " as sagaz_i, f from ("
          ~ sagaz_dbt.fingerprint_sql(e.database, e.schema, e.identifier, e.is_view)
          ~ ") as fp (f)") -%}
  {%- endfor -%}
  {{- return(parts | join('\nunion all\n')) -}}
{%- endmacro %}


{% macro mark_built_many(journal_database, journal_schema, run_id, steps) -%}
  {#- Every step's post-hook statement (mark_built's, below), rendered in ONE macro call
      while arming: {seq: sql}.  Injected as plain SQL, dbt sends it without compiling a
      template or calling a macro per node (each cost milliseconds per node, in the
      build's threads).  `steps`: [{seq, database, schema, identifier, is_view}]. -#}
  {%- set table = sagaz_dbt.marks_relation(journal_database, journal_schema) -%}
  {%- set run = sagaz_dbt.sql_string(run_id) -%}
  {%- set out = {} -%}
  {%- for s in steps -%}
    {%- do out.update({s.seq: 'insert into ' ~ table ~ ' (run_id, seq, fingerprint)\nselect ' ~ run ~ ', ' ~ (s.seq | int)
          ~ ', fp.f\nfrom (' ~ (sagaz_dbt.fingerprint_sql(s.database, s.schema, s.identifier, s.is_view) | trim) ~ ') as fp (f)'}) -%}
  {%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}


{% macro mark_built(journal_database, journal_schema, seq, database, schema, identifier, is_view) -%}
  {#- The injected post-hook: one INSERT ... SELECT in the node's own transaction, so the
      mark commits exactly when the node's change does. -#}
  insert into {{ sagaz_dbt.marks_relation(journal_database, journal_schema) }} (run_id, seq, fingerprint)
  select {{ sagaz_dbt.sql_string(env_var('SAGAZ_DBT_RUN_ID', '')) }}, {{ seq | int }}, fp.f
  from ({{ sagaz_dbt.fingerprint_sql(database, schema, identifier, is_view) }}) as fp (f)
{%- endmacro %}


{% macro fingerprint_matches(relation, recorded, now) -%}
  {#- Is `relation`, whose fingerprint is now `now`, the one `recorded` describes? -#}
  {{- return(adapter.dispatch('fingerprint_matches', 'sagaz_dbt')(relation, recorded, now)) -}}
{%- endmacro %}

{% macro default__fingerprint_matches(relation, recorded, now) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: fingerprint_matches is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}


{% macro fingerprint_still_holds(relation, recorded) -%}
  {{- return(adapter.dispatch('fingerprint_still_holds', 'sagaz_dbt')(relation, recorded)) -}}
{%- endmacro %}

{% macro default__fingerprint_still_holds(relation, recorded) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: fingerprint_still_holds is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}


{% macro changed_since_run(database, schema, run_id, steps) -%}
  {#- The steps whose relation is neither as the run found it nor as one of its nodes left
      it: [{seq, reason}].  Steps armed by an older sagaz-dbt (not `fingerprinted`) are
      skipped, and so is a relation that existed but could not be fingerprinted. -#}
  {%- set marks = {} -%}
  {%- set table = sagaz_dbt.marks_relation(database, schema) -%}
  {%- if adapter.get_relation(database=database, schema=schema, identifier='sagaz_marks') is not none -%}
    {%- set sql -%}
      select seq, fingerprint from {{ table }} where run_id = {{ sagaz_dbt.sql_string(run_id) }}
    {%- endset -%}
    {%- for row in run_query(sql).rows -%}
      {%- do marks.setdefault(row[0] | int, []).append(fromjson(row[1])) -%}
    {%- endfor -%}
  {%- endif -%}
  {%- set changed = [] -%}
  {%- for step in steps -%}
    {%- set detail = fromjson(step.detail) if step.detail else {} -%}
    {%- if detail.get('fingerprinted') and (step.pre_type is none or detail.get('fingerprint')) -%}
    {%- set allowed = marks.get(step.seq | int, []) + ([fromjson(detail.fingerprint)] if detail.get('fingerprint') else []) -%}
    {%- set current = sagaz_dbt.find_relation(step.database_name, step.schema_name, step.identifier) -%}
    {%- set backup_left = sagaz_dbt.step_backup(step, 'kept') is not none
          or sagaz_dbt.step_backup(step, 'copy') is not none -%}
    {%- if current is none -%}
      {#- Gone together with every backup: nothing could be mixed; the rollback names it as
          missing and says what to do (`recover --accept-missing`). -#}
      {%- if (step.pre_type is not none and backup_left) or (step.pre_type is none and (marks.get(step.seq | int, []) | length) > 0) -%}
        {%- do changed.append({'seq': step.seq, 'reason': 'it was dropped'}) -%}
      {%- endif -%}
    {%- else -%}
      {%- set rows = run_query(sagaz_dbt.fingerprint_sql(current.database, current.schema, current.identifier, current.is_view)).rows -%}
      {%- set now = fromjson(rows[0][0]) if rows | length > 0 else {} -%}
      {%- set ns = namespace(held=false) -%}
      {%- for fp in allowed if not ns.held -%}
        {%- if sagaz_dbt.fingerprint_matches(current, fp, now) -%}{%- set ns.held = true -%}{%- endif -%}
      {%- endfor -%}
      {%- if not ns.held -%}
        {%- do changed.append({'seq': step.seq, 'reason': 'it was created by something else' if not allowed
                               else 'it was rebuilt or written'}) -%}
      {%- endif -%}
    {%- endif -%}
    {%- endif -%}
  {%- endfor -%}
  {{- return(changed) -}}
{%- endmacro %}
