{#-
  Seeds on Spark: load empty CSV cells as NULL.

  dbt-spark 1.11's seed load sends each row as bindings, and its session cursor pastes them
  into the SQL with Python's `%` after wrapping each in quotes
  (dbt/adapters/spark/session.py, SessionConnectionWrapper._fix_binding): an empty cell
  (None) arrives as the text 'None' in a string column, and a value with a quote breaks the
  statement.  This
  project's landing_events has events without a user_id: with dbt-spark's own macro, plain
  dbt on Spark loads 15 user_ids 'None', and not_null_silver_events_user_id fails.

  A dbt project overrides an adapter's macro by defining it in the project (dispatch looks
  in the root project first): this one renders every value as a SQL literal, so the seed
  holds what the CSV holds, on every engine, for plain dbt and sagaz-dbt alike.  Literals
  are valid whatever the connection method (the target does not say which one it is:
  `target.method` is not in dbt-spark's target context).
-#}
{% macro spark__load_csv_rows(model, agate_table) %}
  {%- set batch_size = get_batch_size() -%}
  {%- set column_override = model['config'].get('column_types', {}) -%}
  {%- set types = [] -%}
  {%- for col_name in agate_table.column_names -%}
    {%- do types.append(column_override.get(col_name, adapter.convert_type(agate_table, loop.index0))) -%}
  {%- endfor -%}
  {%- set statements = [] -%}
  {%- for chunk in agate_table.rows | batch(batch_size) -%}
    {%- set sql -%}
      insert into {{ this.render() }} values
      {% for row in chunk -%}
        ({%- for value in row -%}
           cast({{ sagaz_example.spark_seed_literal(value) }} as {{ types[loop.index0] }})
           {%- if not loop.last %}, {% endif -%}
         {%- endfor -%})
        {%- if not loop.last %},{% endif %}
      {% endfor -%}
    {%- endset -%}
    {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
    {%- if loop.index0 == 0 -%}{%- do statements.append(sql) -%}{%- endif -%}
  {%- endfor -%}
  {#- the SQL dbt renders into the compiled files -#}
  {{ return(statements[0] if statements else '') }}
{% endmacro %}


{#- One CSV value (as agate parsed it) as a Spark SQL literal: NULL for an empty cell;
    text escaped for Spark's parser, which reads backslash escapes in string literals. -#}
{% macro spark_seed_literal(value) -%}
  {%- if value is none -%}null
  {%- elif value is sameas true -%}true
  {%- elif value is sameas false -%}false
  {%- elif value is number -%}{{ value }}
  {%- else -%}'{{ (value | string) | replace("\\", "\\\\") | replace("'", "\\'") }}'
  {%- endif -%}
{%- endmacro %}
