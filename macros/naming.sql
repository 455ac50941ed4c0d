{#-
  Names of the relations sagaz-dbt creates.  They always carry "sagaz", so users and checks
  can tell them from their own, and they live in a backup schema of the run where the engine
  allows it (see backup_schema_name below).  Python never re-implements these rules: it asks
  these macros, so the name chosen while arming a run is the name the override uses.
-#}

{% macro is_armed() -%}
  {{- return(env_var('SAGAZ_DBT_RUN_ID', '') != '') -}}
{%- endmacro %}


{% macro run_token() -%}
  {{- return(env_var('SAGAZ_DBT_RUN_ID', '')[:10]) -}}
{%- endmacro %}


{% macro identifier_byte_limit() -%}
  {#- The longest identifier the engine keeps, in bytes of UTF-8 (none: no practical
      limit).  Postgres silently cuts longer names at 63 bytes (NAMEDATALEN - 1), so a
      name that does not fit would be created under a name nobody recorded. -#}
  {{- return(adapter.dispatch('identifier_byte_limit', 'sagaz_dbt')()) -}}
{%- endmacro %}

{% macro default__identifier_byte_limit() -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: identifier_byte_limit is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}


{% macro utf8_prefix(text, max_bytes) -%}
  {#- The longest prefix of `text` that fits in `max_bytes` bytes, cut between characters
      (never inside a multi-byte one): the bytes cut at the limit, and the one character
      the cut may have split dropped by the decoder (the rest is valid UTF-8). -#}
  {{- return(text.encode('utf-8')[:max_bytes].decode('utf-8', 'ignore')) -}}
{%- endmacro %}


{% macro sagaz_identifier(base, kind, token, limit='engine') -%}
  {#- The one naming rule: `__sagaz_<kind>_<token>__<base>`, where `base` is the FULL
      identifier of the relation protected (never a name dbt already cut).  The sagaz part
      comes first so that a user's macro listing relations by prefix
      (dbt_utils.get_relations_by_prefix('orders_'), union_relations) never picks up a
      backup of `orders_2024` during a run.  When the name does not fit the engine's byte
      limit, the base is cut on a character boundary and followed by a hash of the full
      base, so two long names that share a prefix never collide.
      tests/unit/test_naming.py checks the rule by property through this macro. -#}
  {%- set max_bytes = sagaz_dbt.identifier_byte_limit() if limit == 'engine' else limit -%}
  {%- set head = '__sagaz_' ~ kind ~ '_' ~ token ~ '__' -%}
  {%- set whole = head ~ base -%}
  {%- if max_bytes is none or (whole.encode('utf-8') | length) <= max_bytes -%}
    {{- return(whole) -}}
  {%- endif -%}
  {%- set tag = '_' ~ local_md5(base)[:8] -%}
  {%- set room = max_bytes - (head.encode('utf-8') | length) - (tag | length) -%}
  {%- if room < 1 -%}
    {%- do exceptions.raise_compiler_error("sagaz-dbt: no room for a name within " ~ max_bytes ~ " bytes") -%}
  {%- endif -%}
  {{- return(head ~ sagaz_dbt.utf8_prefix(base, room) ~ tag) -}}
{%- endmacro %}


{% macro naming_memo(memo) -%}
  {#- A phase memo (lookup.sql) that also holds the run's token and the engine's byte limit,
      so that a phase naming a thousand relations asks for them once, not per name (each
      macro call costs dbt ~0.1 ms of context building).  Returns `memo`. -#}
  {%- if 'run_token' not in memo -%}
    {%- do memo.update({'run_token': sagaz_dbt.run_token(), 'byte_limit': sagaz_dbt.identifier_byte_limit()}) -%}
  {%- endif -%}
  {{- return(memo) -}}
{%- endmacro %}


{% macro run_name(base, kind, memo=none) -%}
  {#- This run's sagaz name of kind `kind` for `base`: sagaz_identifier with the run's token
      and the engine's limit, from `memo` when it holds them (naming_memo). -#}
  {%- if memo is not none and 'run_token' in memo -%}
    {{- return(sagaz_dbt.sagaz_identifier(base, kind, memo['run_token'], memo['byte_limit'])) -}}
  {%- endif -%}
  {{- return(sagaz_dbt.sagaz_identifier(base, kind, sagaz_dbt.run_token())) -}}
{%- endmacro %}


{% macro kept_relation(relation, memo=none) -%}
  {#- Where the pre-run `relation` is kept (instead of dbt's `__dbt_backup`).  Derived
      from the relation's own identifier: dbt-postgres cuts its backup names to 51
      characters, so two long names sharing that prefix get the same backup name. -#}
  {{- return(relation.incorporate(path={'identifier': sagaz_dbt.run_name(relation.identifier, 'bk', memo)})) -}}
{%- endmacro %}


{% macro copy_relation(relation, memo=none) -%}
  {#- A copy is created where no user macro lists it: in the run's backup schema. -#}
  {{- return(sagaz_dbt.backup_relation(relation, sagaz_dbt.run_name(relation.identifier, 'cp', memo), memo)) -}}
{%- endmacro %}


{% macro backup_relation(relation, identifier, memo=none) -%}
  {#- The table `identifier` of `relation`'s backups, in the run's backup schema. -#}
  {{- return(sagaz_dbt.in_backup_schema(relation.incorporate(path={'identifier': identifier}, type='table'), memo)) -}}
{%- endmacro %}


{#-
  The backup schema.  A user's macro that lists a whole schema (information_schema.tables,
  dbt_utils.get_relations_by_pattern(schema, '%') + union_relations) must not see sagaz-dbt's
  own relations, so copies and batch keys are created in a schema of sagaz-dbt's, and on
  engines that move a relation across schemas in O(1) (Postgres: ALTER ... SET SCHEMA,
  transactional, the OID stays) the kept pre-run relation moves there too, inside dbt's own
  swap transaction.  One backup schema per run and per user schema,
  `__sagaz_sc_<run token>__<schema>`: the names in it are exactly the sagaz names the run
  claimed for that schema, and the indexes, constraints and sequences that move with a kept
  table were unique together in the user's schema, so nothing in it can collide (a schema
  shared by runs or targets could: two retained backups' `orders_pkey`).  The journal records
  it per step (detail `backup_schema`, `kept_schema`); a step without them (older journals)
  has its backups in its own schema.
-#}

{% macro backup_schema_name(schema, token=none, limit='engine') -%}
  {#- From the schema's catalog name (folded as the engine stores it unquoted), so the name
      is the same whether the project quotes schemas or not: every other part is lower case. -#}
  {%- set base = sagaz_dbt.catalog_identifier(schema, 'schema') -%}
  {{- return(sagaz_dbt.sagaz_identifier(base, 'sc', token or sagaz_dbt.run_token(), limit)) -}}
{%- endmacro %}

{% macro in_backup_schema(relation, memo=none) -%}
  {#- `relation`, in the run's backup schema of its schema (always quoted: the name is exact). -#}
  {%- set schema = (memo or {}).get(('backup_schema_name', relation.schema)) or sagaz_dbt.run_backup_schema(relation.schema, memo) -%}
  {{- return(relation.incorporate(path={'schema': schema}).quote(schema=true)) -}}
{%- endmacro %}

{% macro run_backup_schema(schema, memo=none) -%}
  {#- This run's backup schema of `schema` (backup_schema_name), once per phase `memo`. -#}
  {%- if memo is none -%}
    {{- return(sagaz_dbt.backup_schema_name(schema)) -}}
  {%- endif -%}
  {%- set slot = ('backup_schema_name', schema) -%}
  {%- if slot not in memo -%}
    {%- do memo.update({slot: sagaz_dbt.backup_schema_name(schema)}) -%}
  {%- endif -%}
  {{- return(memo[slot]) -}}
{%- endmacro %}

{% macro moves_relations_across_schemas() -%}
  {#- Whether the engine moves a relation to another schema in O(1) inside a transaction,
      keeping it (and what is bound to it) intact.  DuckDB has no such statement
      (ALTER TABLE ... SET SCHEMA is a parser error in DuckDB 2.0), so there a kept table or
      view stays in its own schema under its `__sagaz_`-first name. -#}
  {{- return(adapter.dispatch('moves_relations_across_schemas', 'sagaz_dbt')()) -}}
{%- endmacro %}

{% macro default__moves_relations_across_schemas() -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: moves_relations_across_schemas is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}

{% macro keeps_backups() -%}
  {#- Whether the rename override keeps dbt's backup under a sagaz name (zero copy).  Not
      with vars.sagaz.isolate_backups on an engine that cannot move it out of the user's
      schema: the table was copied into the backup schema while arming, and dbt drops its
      own backup as plain dbt does. -#}
  {{- return(sagaz_dbt.moves_relations_across_schemas() or env_var('SAGAZ_DBT_ISOLATE_BACKUPS', '') == '') -}}
{%- endmacro %}

{% macro kept_home(kept) -%}
  {#- Where a kept relation stays for the rest of the run. -#}
  {%- if sagaz_dbt.moves_relations_across_schemas() -%}
    {{- return(sagaz_dbt.in_backup_schema(kept)) -}}
  {%- endif -%}
  {{- return(kept) -}}
{%- endmacro %}

{% macro step_backup(step, which) -%}
  {#- A journaled step's backup relation ('kept', 'copy' or 'keys'), found by its exact name
      where the journal says it is (detail kept_schema / backup_schema; older journals: the
      step's own schema), or none. -#}
  {%- set detail = step.get('parsed_detail') or (fromjson(step.detail) if step.detail else {}) -%}
  {%- set name = step.kept_identifier if which == 'kept' else (step.copy_identifier if which == 'copy' else detail.get('keys_identifier')) -%}
  {%- if not name -%}
    {{- return(none) -}}
  {%- endif -%}
  {%- set schema = detail.get('kept_schema' if which == 'kept' else 'backup_schema') or step.schema_name -%}
  {{- return(sagaz_dbt.find_relation(step.database_name, schema, name, step.get('memo'))) -}}
{%- endmacro %}


{% macro names_for(identifiers, kinds, token, limit='engine') -%}
  {#- Every sagaz name of every identifier, for the property test (one macro call). -#}
  {%- set out = [] -%}
  {%- for identifier in identifiers -%}
    {%- for kind in kinds -%}
      {%- do out.append(sagaz_dbt.sagaz_identifier(identifier, kind, token, limit)) -%}
    {%- endfor -%}
  {%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}
