{#-
  Exact relation lookups.  dbt's adapter.get_relation matches names case-insensitively and
  raises "approximate match" when a schema holds case twins (`orders` and "Orders"), and
  its relation cache keys names in lower case, so one twin hides the other.  sagaz-dbt
  looks relations up by the exact name the catalog holds: one catalog query per schema
  and phase (`memo`), then a dictionary lookup per name.

  The memo is a snapshot of the catalog when the phase first reads a schema (or, on an
  engine that lists many schemas in one query, the schemas the phase said it will read:
  want_schemas).  It stays true for the phase because each sagaz name belongs to one step
  (arm refuses duplicates) and every step reads its names before it queues a change to them.
-#}

{% macro catalog_identifier(name, component='identifier', memo=none) -%}
  {#- The name the catalog holds for `name` as dbt renders it (quoted or not, as the
      project configures).  The engine's rule and the quoting are read once per memo. -#}
  {%- set memo = {} if memo is none else memo -%}
  {%- if 'unquoted_case' not in memo -%}
    {%- do memo.update({'unquoted_case': sagaz_dbt.unquoted_identifier_case()}) -%}
  {%- endif -%}
  {%- set quoted = ('quoted', component) -%}
  {%- if quoted not in memo -%}
    {%- do memo.update({quoted: adapter.quote_as_configured('x', component) != 'x'}) -%}
  {%- endif -%}
  {%- if memo[quoted] or memo['unquoted_case'] is none -%}
    {{- return(name) -}}
  {%- endif -%}
  {{- return(name | lower) -}}
{%- endmacro %}

{% macro unquoted_identifier_case() -%}
  {#- 'lower' where the engine folds unquoted names to lower case, none where it keeps them. -#}
  {{- return(adapter.dispatch('unquoted_identifier_case', 'sagaz_dbt')()) -}}
{%- endmacro %}

{% macro default__unquoted_identifier_case() -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: unquoted_identifier_case is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}


{% macro names_fold_case() -%}
  {#- Whether the engine matches relation names case-insensitively (DuckDB: it refuses case
      twins, so such a match is exact).  Asked once per memo: a dispatch costs more than
      the lookup itself. -#}
  {{- return(adapter.dispatch('names_fold_case', 'sagaz_dbt')()) -}}
{%- endmacro %}

{% macro default__names_fold_case() -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: names_fold_case is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}


{% macro name_key(name, memo=none) -%}
  {#- Two catalog names are the same relation when their keys are equal. -#}
  {%- set memo = {} if memo is none else memo -%}
  {%- if 'fold_case' not in memo -%}
    {%- do memo.update({'fold_case': sagaz_dbt.names_fold_case()}) -%}
  {%- endif -%}
  {{- return(name | lower if memo['fold_case'] else name) -}}
{%- endmacro %}


{% macro list_schema_relations(database, schema, memo=none) -%}
  {#- [(name, type)] of the relations in exactly `schema` (not dbt's `ilike` listing). -#}
  {{- return(adapter.dispatch('list_schema_relations', 'sagaz_dbt')(database, schema, memo)) -}}
{%- endmacro %}

{% macro default__list_schema_relations(database, schema, memo) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: list_schema_relations is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}


{% macro want_schemas(memo, pairs) -%}
  {#- Tell a phase's memo the schemas it will look relations up in, `pairs` [(database,
      schema)].  An engine that lists many schemas in one query (Postgres) then reads all of
      them at the first lookup: one statement instead of one per schema (each costs ~5 ms
      of dbt's statement handling, and a phase of a 5-schema project reads 10).  Pairs
      with no schema are skipped. -#}
  {%- set wanted = memo.setdefault('wanted', {}) -%}
  {%- for database, schema in pairs if schema -%}
    {%- set schemas = wanted.setdefault(database | lower, []) -%}
    {%- if schema not in schemas -%}{%- do schemas.append(schema) -%}{%- endif -%}
  {%- endfor -%}
{%- endmacro %}


{% macro schema_exists(database, schema, memo=none) -%}
  {#- Whether `schema` exists: from the memo when the engine's listing recorded it (slot
      ('schemas_present', database) {catalog name: bool}), else dbt's adapter asks. -#}
  {%- set present = (memo or {}).get(('schemas_present', database | lower), {}) -%}
  {%- set name = sagaz_dbt.catalog_identifier(schema, 'schema', memo) -%}
  {%- if name in present -%}
    {{- return(present[name]) -}}
  {%- endif -%}
  {{- return(adapter.check_schema_exists(database, schema)) -}}
{%- endmacro %}


{% macro want_columns(memo, relations) -%}
  {#- Read the columns of `relations` (dbt Column objects, as adapter.get_columns_in_relation
      gives them) with one query into the phase memo; relation_columns reads them from
      there.  For a phase that reads the columns of many relations (a rollback: each row
      restore reads its table and its copy), one statement instead of one per relation.
      Called before the phase queues a change to any of them: each belongs to one step,
      whose own changes are queued after its reads. -#}
  {%- set todo = [] -%}
  {%- for r in relations if r is not none and sagaz_dbt.columns_slot(r) not in memo and r not in todo -%}
    {%- do todo.append(r) -%}
  {%- endfor -%}
  {%- if todo -%}
    {%- set found = sagaz_dbt.columns_of_relations(todo) -%}
    {%- for r in todo -%}
      {%- if loop.index0 in found -%}
        {%- do memo.update({sagaz_dbt.columns_slot(r): found[loop.index0]}) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
{%- endmacro %}

{% macro columns_slot(relation) -%}
  {{- return(('columns', relation.database | lower, relation.schema, relation.identifier)) -}}
{%- endmacro %}

{% macro relation_columns(relation, memo=none) -%}
  {#- `relation`'s columns: from the phase memo when want_columns read them, else asked. -#}
  {%- if memo is not none -%}
    {%- set slot = sagaz_dbt.columns_slot(relation) -%}
    {%- if slot in memo -%}
      {{- return(memo[slot]) -}}
    {%- endif -%}
  {%- endif -%}
  {{- return(adapter.get_columns_in_relation(relation)) -}}
{%- endmacro %}

{% macro columns_of_relations(relations) -%}
  {#- {index in `relations`: [Column]} for the relations that exist, in one query; an
      engine may return {} (each is then asked on its own). -#}
  {{- return(adapter.dispatch('columns_of_relations', 'sagaz_dbt')(relations)) -}}
{%- endmacro %}

{% macro default__columns_of_relations(relations) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: columns_of_relations is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}


{% macro columns_by_index(rows) -%}
  {#- {index: [Column]} from rows (index, name, type, char size, precision, scale) in column
      order: api.Column(*row[1:]), as dbt's sql_convert_columns_in_relation builds them. -#}
  {%- set out = {} -%}
  {%- for row in rows -%}
    {%- do out.setdefault(row[0] | int, []).append(api.Column(row[1], row[2], row[3], row[4], row[5])) -%}
  {%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}


{% macro schema_relations(database, schema, memo=none) -%}
  {#- {name_key: (name, type)} for one schema, read once per `memo`. -#}
  {%- set memo = {} if memo is none else memo -%}
  {#- Tagged like every other tuple slot of a memo: a bare (database, schema) would be the
      slot ('duckdb_catalog', db) or ('backup_schema_name', schema) of a database so named. -#}
  {%- set slot = ('relations', database, schema) -%}
  {%- if slot not in memo -%}
    {%- set found = {} -%}
    {%- do sagaz_dbt.name_key('', memo) -%}
    {#- name_key's rule inline: a macro call per catalog row cost more than the listing. -#}
    {%- set fold = memo['fold_case'] -%}
    {%- for row in sagaz_dbt.list_schema_relations(database, schema, memo) -%}
      {%- do found.update({(row[0] | lower) if fold else row[0]: (row[0], row[1])}) -%}
    {%- endfor -%}
    {%- do memo.update({slot: found}) -%}
  {%- endif -%}
  {{- return(memo[slot]) -}}
{%- endmacro %}


{% macro find_relation(database, schema, identifier, memo=none) -%}
  {#- The relation named exactly `identifier` (a catalog name, as the journal records
      it), or none.  Never an approximate match. -#}
  {%- if identifier is none or identifier == '' -%}
    {{- return(none) -}}
  {%- endif -%}
  {%- set memo = {} if memo is none else memo -%}
  {#- A schema listed already is read from the memo here: a phase looks up ~3 names per
      step, and each macro call costs dbt ~0.1 ms (schema_relations fills the slot). -#}
  {%- set slot = ('relations', database, schema) -%}
  {%- set found = memo[slot] if slot in memo else sagaz_dbt.schema_relations(database, schema, memo) -%}
  {%- set hit = found.get((identifier | lower) if memo['fold_case'] else identifier) -%}
  {%- if hit is none -%}
    {{- return(none) -}}
  {%- endif -%}
  {{- return(api.Relation.create(database=database, schema=schema, identifier=hit[0], type=hit[1])) -}}
{%- endmacro %}


{% macro find_node_relation(database, schema, identifier, memo=none) -%}
  {#- A node's relation, from its configured alias (folded as the engine stores it). -#}
  {%- set memo = {} if memo is none else memo -%}
  {{- return(sagaz_dbt.find_relation(database, schema, sagaz_dbt.catalog_identifier(identifier, 'identifier', memo), memo)) -}}
{%- endmacro %}


{% macro phase_memo() -%}
  {#- The memo of one phase (arm, release, rollback): every lookup of the phase shares it.
      An engine whose catalog listing costs the same for one schema as for all of them
      (DuckDB's duckdb_tables() builds a row for every relation whatever the filter) reads
      the whole database in its first listing (`whole_catalog`); a one-off lookup (memo
      none) lists just its schema.  Its keys are strings, or tuples whose first element
      names what they hold ('relations', 'duckdb_catalog', ...): never bare user names,
      which could equal another slot's key. -#}
  {{- return({'whole_catalog': true}) -}}
{%- endmacro %}


{% macro step_memo(steps) -%}
  {#- One catalog snapshot shared by every step of a phase: attached to each step, so the
      step macros find it without new parameters. -#}
  {%- set memo = sagaz_dbt.phase_memo() -%}
  {%- set wanted = [] -%}
  {%- for step in steps -%}
    {#- and its journal detail, parsed once for the phase (naming.sql step_backup) -#}
    {%- set detail = fromjson(step.detail) if step.detail else {} -%}
    {%- do step.update({'memo': memo, 'parsed_detail': detail}) -%}
    {%- for schema in [step.schema_name, detail.get('kept_schema'), detail.get('backup_schema')] -%}
      {%- do wanted.append((step.database_name, schema)) -%}
    {%- endfor -%}
  {%- endfor -%}
  {%- do sagaz_dbt.want_schemas(memo, wanted) -%}
  {{- return(memo) -}}
{%- endmacro %}
