{#-
  Checkpoints held for a run.  An engine that writes a log and folds it into its database
  file on its own (DuckDB: a checkpoint each time 16 MB of WAL has built up) does that work
  over every relation in the database; while a run lasts, the pre-run relations are still
  there beside the new ones, so each checkpoint walks about twice the relations plain dbt's
  does.  sagaz-dbt holds the automatic checkpoints for the run and checkpoints once at its
  end (engines/checkpoints.py).  Every commit stays durable in the log meanwhile: holding a
  checkpoint changes where committed data lies, not whether it survives a crash.
-#}

{% macro hold_checkpoints() -%}
  {#- Stop automatic checkpoints; returns the setting to put back. -#}
  {{- return(adapter.dispatch('hold_checkpoints', 'sagaz_dbt')()) -}}
{%- endmacro %}

{% macro default__hold_checkpoints() -%}
  {{- exceptions.raise_compiler_error("sagaz-dbt does not hold checkpoints on " ~ adapter.type()) -}}
{%- endmacro %}


{% macro resume_checkpoints(setting, database) -%}
  {#- Put the setting back, then checkpoint `database` (the one the run wrote) once. -#}
  {{- return(adapter.dispatch('resume_checkpoints', 'sagaz_dbt')(setting, database)) -}}
{%- endmacro %}

{% macro default__resume_checkpoints(setting, database) -%}
  {{- exceptions.raise_compiler_error("sagaz-dbt does not hold checkpoints on " ~ adapter.type()) -}}
{%- endmacro %}
