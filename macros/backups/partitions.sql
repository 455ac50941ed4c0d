{#-
  Partition snapshots, for insert_overwrite models on an engine that overwrites whole
  partitions and has no DELETE (Spark parquet, sagaz_dbt/backups/incremental.py
  `overwritten_partitions`).  A pre-hook, run by dbt right before the model's SQL, learns
  which partitions the batch will overwrite and copies just those: O(batch).
-#}

{% macro backup_partitions(partition_columns, copy_identifier, keys_identifier, nondeterministic) -%}
  {{- return(adapter.dispatch('backup_partitions', 'sagaz_dbt')(partition_columns, copy_identifier, keys_identifier, nondeterministic)) -}}
{%- endmacro %}

{% macro default__backup_partitions(partition_columns, copy_identifier, keys_identifier, nondeterministic) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: backup_partitions is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}
