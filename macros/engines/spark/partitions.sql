{#-
  insert_overwrite on a partitioned parquet table, backed up by partition (O(batch)).

  dbt-spark runs such a model as `set spark.sql.sources.partitionOverwriteMode = DYNAMIC`,
  the pre-hooks, `create temporary view <tmp> as <the model's SQL>`, then
  `insert overwrite table <target> partition (<partition_by>) select <columns> from <tmp>`
  (dbt/include/spark/macros/materializations/incremental/): in dynamic mode that replaces
  exactly the partitions whose values the batch holds, and creates the ones it did not
  have.  A NULL partition value is a partition of its own (`__HIVE_DEFAULT_PARTITION__`), and
  an empty string in a string partition column lands there too.

  The pre-hook (first of the node's pre-hooks, after dbt's `set`, before its SQL):
    1. the batch's partition values, as the insert will write them (cast to the column's
       type, then to text: the same text Spark names the partition by), into the table
       `keys` (CTAS);
    2. the rows of the target in those partitions into the table `copy` (CTAS; the
       predicates are on partition columns only, so Spark lists no other partition).
  Both names are journaled while arming, before they exist.  A CTAS of a data source
  table writes its files first and registers the table last (Spark's
  CreateDataSourceTableAsSelectCommand), so a `copy` that exists is complete; `keys` is
  made before `copy` and dropped after it, so a `copy` that exists has its `keys`.
  dbt runs the model's SQL only once the pre-hook has returned: without a `copy`, the
  target was not written by this run.

  The rollback of the step (spark_restore_partitions), each action checked and idempotent:
    - no `copy`: the target holds its pre-run rows (the pre-hook never finished, or an
      earlier attempt of this restore did); drop `keys` if it is left;
    - drop every partition of `keys` that `copy` has no rows of (the batch created it);
    - overwrite, in dynamic mode (checked before the statement: in static mode it would
      replace the whole table), the partitions `copy` holds, with its rows;
    - drop `copy`, then `keys`.
  Killed anywhere, the next attempt finds `copy` and does it all again (same result), or
  finds it gone and has nothing left to do but drop `keys`.
-#}

{% macro spark_table_layout(relation) -%}
  {#- {'columns': [name, ...], 'partitions': [[name, type], ...]} from DESCRIBE TABLE. -#}
  {%- set columns = [] -%}
  {%- set partitions = [] -%}
  {%- set section = {'at': 'columns'} -%}
  {%- for row in run_query('describe table ' ~ relation).rows -%}
    {%- set name = row[0] or '' -%}
    {%- if name == '# Partition Information' -%}
      {%- do section.update({'at': 'partitions'}) -%}
    {%- elif name.startswith('#') or name == '' -%}
      {%- if section.at == 'columns' -%}{%- do section.update({'at': 'done'}) -%}{%- endif -%}
      {%- if section.at == 'partitions' and name == '' -%}{%- do section.update({'at': 'done'}) -%}{%- endif -%}
    {%- elif section.at == 'columns' -%}
      {%- do columns.append(name) -%}
    {%- elif section.at == 'partitions' -%}
      {%- do partitions.append([name, row[1]]) -%}
    {%- endif -%}
  {%- endfor -%}
  {{- return({'columns': columns, 'partitions': partitions}) -}}
{%- endmacro %}


{% macro spark_partitioned_by(relation, columns) -%}
  {#- Whether `relation` is partitioned by exactly `columns` (the model's partition_by). -#}
  {%- set names = [] -%}
  {%- for pair in sagaz_dbt.spark_table_layout(relation).partitions -%}{%- do names.append(pair[0] | lower) -%}{%- endfor -%}
  {%- set wanted = [] -%}
  {%- for col in columns -%}{%- do wanted.append(col | lower) -%}{%- endfor -%}
  {{- return(names == wanted and names | length > 0) -}}
{%- endmacro %}


{% macro spark_partition_text(alias, name) -%}
  {{- return('cast(' ~ alias ~ '.' ~ adapter.quote(name) ~ ' as string)') -}}
{%- endmacro %}


{% macro spark_partition_values(relation, exprs) -%}
  {#- The distinct rows of text `exprs` over `relation` (alias sagaz_c), as lists of text or
      None.  Marked with a leading 'v' so that dbt's result table keeps them as text (it would
      read '1' as a number and '2024-01-01' as a date). -#}
  {%- set marked = [] -%}
  {%- for expr in exprs -%}{%- do marked.append("concat('v', " ~ expr ~ ")") -%}{%- endfor -%}
  {%- set out = [] -%}
  {%- for row in run_query('select distinct ' ~ marked | join(', ') ~ ' from ' ~ relation ~ ' as sagaz_c').rows -%}
    {%- set values = [] -%}
    {%- for value in row -%}{%- do values.append(none if value is none else value[1:]) -%}{%- endfor -%}
    {%- do out.append(values) -%}
  {%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}


{% macro spark_partition_scope(alias, names, values) -%}
  {#- A predicate on partition columns only (Spark prunes by it: no other partition is
      listed or read): the rows of `alias` in the partitions `values` (text or None). -#}
  {%- set any = [] -%}
  {%- for row in values -%}
    {%- set all = [] -%}
    {%- for name in names -%}
      {%- do all.append(sagaz_dbt.spark_partition_text(alias, name) ~ ' <=> ' ~ sagaz_dbt.spark_literal(row[loop.index0])) -%}
    {%- endfor -%}
    {%- do any.append('(' ~ all | join(' and ') ~ ')') -%}
  {%- endfor -%}
  {{- return(any | join(' or ') if any else 'false') -}}
{%- endmacro %}


{% macro spark__backup_partitions(partition_columns, copy_identifier, keys_identifier, nondeterministic) -%}
  {%- set existing = none if should_full_refresh() else sagaz_dbt.row_backup_of() -%}
  {%- if existing is none -%}
    {{- return('') -}}
  {%- endif -%}
  {%- set found = modules.re.search(nondeterministic, model.compiled_code) -%}
  {%- if found -%}
    {#- The raw SQL had none (the plan would have copied the table): a macro brought it in. -#}
    {%- do exceptions.raise_compiler_error("sagaz-dbt: " ~ this ~ " calls " ~ found.group(1) ~ " in its compiled SQL, so"
          ~ " the partitions its insert_overwrite replaces cannot be known before it runs; nothing of it was"
          ~ " changed. Give the model `meta: {sagaz: {snapshot: copy}}` (its table is then copied before the run).") -%}
  {%- endif -%}
  {%- set layout = sagaz_dbt.spark_table_layout(existing) -%}
  {%- set names = [] -%}
  {%- set texts = [] -%}
  {%- for name, type in layout.partitions -%}
    {%- do names.append(name) -%}
    {#- as the insert writes it: cast to the column's type; then as Spark names the partition -#}
    {%- do texts.append("nullif(cast(cast(sagaz_b." ~ adapter.quote(name) ~ " as " ~ type ~ ") as string), '') as " ~ adapter.quote(name)) -%}
  {%- endfor -%}
  {%- set wanted = [] -%}
  {%- for col in partition_columns -%}{%- do wanted.append(col | lower) -%}{%- endfor -%}
  {%- if (names | map('lower') | list) != wanted -%}
    {%- do exceptions.raise_compiler_error("sagaz-dbt: " ~ this ~ " is partitioned by " ~ names | join(', ') ~ ", not by its"
          ~ " partition_by " ~ partition_columns | join(', ') ~ "; nothing of it was changed") -%}
  {%- endif -%}
  {%- set keys = existing.incorporate(path={'identifier': keys_identifier}) -%}
  {%- set copy = existing.incorporate(path={'identifier': copy_identifier}) -%}
  {%- do run_query('create table ' ~ keys ~ ' using parquet as select distinct ' ~ texts | join(', ') ~ ' from (\n'
        ~ model.compiled_code ~ '\n) as sagaz_b') -%}
  {%- set quoted = [] -%}
  {%- for name in names -%}{%- do quoted.append(adapter.quote(name)) -%}{%- endfor -%}
  {%- set values = sagaz_dbt.spark_partition_values(keys, quoted) -%}
  {%- do run_query('create table ' ~ copy ~ ' using parquet as select * from ' ~ existing ~ ' as sagaz_t where '
        ~ sagaz_dbt.spark_partition_scope('sagaz_t', names, values)) -%}
  {{- return('') -}}
{%- endmacro %}


{% macro spark_restore_partitions(step, current, detail, memo) -%}
  {%- set copy = sagaz_dbt.spark_find(step, step.copy_identifier, memo) -%}
  {%- set keys = sagaz_dbt.spark_find(step, detail.keys_identifier, memo) -%}
  {%- if copy is none -%}
    {%- do sagaz_dbt.spark_drop(keys, memo) -%}
    {{- return('untouched') -}}
  {%- endif -%}
  {%- if current is none -%}
    {{- return('missing') -}}
  {%- endif -%}
  {%- if keys is none -%}
    {%- do exceptions.raise_compiler_error("sagaz-dbt: the partition backup " ~ copy ~ " of " ~ current ~ " has lost its"
          ~ " list of partitions " ~ detail.keys_identifier ~ "; refusing to guess") -%}
  {%- endif -%}
  {%- set layout = sagaz_dbt.spark_table_layout(current) -%}
  {%- set names = [] -%}
  {%- set texts = [] -%}
  {%- for name, type in layout.partitions -%}
    {%- do names.append(name) -%}
    {%- do texts.append(sagaz_dbt.spark_partition_text('sagaz_c', name)) -%}
  {%- endfor -%}
  {%- set copy_layout = sagaz_dbt.spark_table_layout(copy) -%}
  {%- if not names or (layout.columns | map('lower') | list) != (copy_layout.columns | map('lower') | list) -%}
    {%- do exceptions.raise_compiler_error("sagaz-dbt: " ~ current ~ " no longer has the columns and partitions of its"
          ~ " partition backup " ~ copy ~ "; refusing to guess (the backup is kept)") -%}
  {%- endif -%}
  {%- set quoted = [] -%}
  {%- for name in names -%}{%- do quoted.append(adapter.quote(name)) -%}{%- endfor -%}
  {%- set held = sagaz_dbt.spark_partition_values(copy, texts) -%}
  {#- Partitions the batch created: dropped (a partition spec takes NULL for the NULL partition). -#}
  {%- for row in sagaz_dbt.spark_partition_values(keys, quoted) if row not in held -%}
    {%- set spec = [] -%}
    {%- for name in names -%}
      {%- do spec.append(adapter.quote(name) ~ ' = ' ~ sagaz_dbt.spark_literal(row[loop.index0])) -%}
    {%- endfor -%}
    {%- do run_query('alter table ' ~ current ~ ' drop if exists partition (' ~ spec | join(', ') ~ ')') -%}
  {%- endfor -%}
  {#- Partitions it overwrote: their pre-run rows back, in dynamic mode only. -#}
  {%- if held -%}
    {%- set setting = 'spark.sql.sources.partitionOverwriteMode' -%}
    {%- set before = run_query('set ' ~ setting).rows[0][1] -%}
    {%- do run_query('set ' ~ setting ~ ' = DYNAMIC') -%}
    {%- if (run_query('set ' ~ setting).rows[0][1] | upper) != 'DYNAMIC' -%}
      {%- do exceptions.raise_compiler_error("sagaz-dbt: cannot set " ~ setting ~ " to DYNAMIC; refusing to overwrite " ~ current) -%}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- for name in layout.columns -%}{%- do columns.append(adapter.quote(name)) -%}{%- endfor -%}
    {%- do run_query('insert overwrite table ' ~ current ~ ' partition (' ~ quoted | join(', ') ~ ') select '
          ~ columns | join(', ') ~ ' from ' ~ copy) -%}
    {%- do run_query('set ' ~ setting ~ ' = ' ~ before) -%}
  {%- endif -%}
  {%- do sagaz_dbt.spark_drop(copy, memo) -%}
  {%- do sagaz_dbt.spark_drop(keys, memo) -%}
  {{- return('rows restored (' ~ detail.mode ~ ')') -}}
{%- endmacro %}
