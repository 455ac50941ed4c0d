{#-
  The two switches that drive the example pipelines (dbt vars, declared in dbt_project.yml):

    batch_date  one landing batch, YYYY-MM-DD (empty: every batch)
    fail        a bug to switch on, to watch sagaz-dbt roll the run back

  Each var falls back to an environment variable (SAGAZ_EXAMPLE_BATCH_DATE,
  SAGAZ_EXAMPLE_FAIL).  Both work; they differ in cost: a changed `--vars` makes dbt re-parse
  the whole project (seconds), a changed env var only the models that read it.  `sagaz-dbt
  examples run` uses the env vars.
-#}

{#- The bugs a run can switch on with `--vars '{fail: NAME}'`. -#}
{% macro known_failures() -%}
  {{- return({
      'etl_transform': 'stg_orders casts a text column to a number (a transform bug)',
      'etl_load': 'fct_orders reads a column that was renamed upstream (a load bug)',
      'migration_rowcount': 'migrated_orders forgets the cancelled orders (row count mismatch)',
      'migration_checksum': 'migrated_orders drops the cents of every amount (checksum mismatch)',
      'lakehouse_silver': 'silver_events stops de-duplicating redelivered events (unique test fails)',
      'lakehouse_gold': 'gold_daily_summary divides by a column that does not exist (gold model error)',
  }) -}}
{%- endmacro %}


{% macro injected(name) -%}
  {#- True when `--vars '{fail: <name>}'` switched this bug on. -#}
  {%- set wanted = var('fail', '') or env_var('SAGAZ_EXAMPLE_FAIL', '') -%}
  {%- if wanted and wanted not in sagaz_example.known_failures() -%}
    {%- do exceptions.raise_compiler_error(
        "unknown value for var 'fail': " ~ wanted ~ " (known: " ~ (sagaz_example.known_failures().keys() | list | join(', ')) ~ ")") -%}
  {%- endif -%}
  {%- if name not in sagaz_example.known_failures() -%}
    {%- do exceptions.raise_compiler_error("sagaz_example.injected: unknown failure " ~ name) -%}
  {%- endif -%}
  {{- return(wanted == name) -}}
{%- endmacro %}


{% macro batch_date() -%}
  {#- The batch this run loads (a validated YYYY-MM-DD string), or none for every batch. -#}
  {%- set value = (var('batch_date', '') or env_var('SAGAZ_EXAMPLE_BATCH_DATE', '')) | string | trim -%}
  {%- if not value -%}
    {{- return(none) -}}
  {%- endif -%}
  {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', value) -%}
    {%- do exceptions.raise_compiler_error("var 'batch_date' must be YYYY-MM-DD, got: " ~ value) -%}
  {%- endif -%}
  {%- do modules.datetime.date.fromisoformat(value) -%}
  {{- return(value) -}}
{%- endmacro %}


{% macro batch_literal() -%}
  {#- The batch date as a SQL date literal. -#}
  {{- return("cast(" ~ dbt.string_literal(sagaz_example.batch_date()) ~ " as date)") -}}
{%- endmacro %}
