"""Writes the benchmark's dbt project, `benchmarks/project/` (committed, so it can be read).

    .venv/bin/python -m benchmarks.make_project        # rewrites benchmarks/project/

The project has the shape of a real shop warehouse: 12 staging views over the generated raw
tables and three seeds, an intermediate layer (tables over the largest tables, ephemeral
helpers), and marts: sales, events and payments by dimension at day (table), week (table)
and month (view) grain, dimensions, four incremental facts with a `unique_key` (each run
replaces the last day), customer and product marts, reporting views, one dbt snapshot, and
about 100 tests.  `rpt_run_summary` reads every mart, so its test `assert_run_healthy` is
the last node of every build; it fails when the control row says so (the rollback case).
`assert_kpis_healthy` plays that part for `--select +fct_daily_kpis` (the quick mode).

Every number is exact (decimal, never floating point sums), so two builds of the same data
give the same rows, and the warehouses of plain dbt and sagaz-dbt can be compared by
checksum.  The control row's `tag` scales prices (unit price x (1 + tag/1000)), so a run
with a new tag changes every amount downstream and a rollback has something to undo.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "project"

# -- families of marts ------------------------------------------------------------------------

#: Sales by dimension: (dimension name, source model, column expression, key column type).
SALES_DIMS = [
    ("store", "int_orders_enriched", "store_id"),
    ("channel", "int_orders_enriched", "channel"),
    ("country", "int_orders_enriched", "country_code"),
    ("region", "int_orders_enriched", "region"),
    ("segment", "int_orders_enriched", "segment"),
    ("status", "int_orders_enriched", "status"),
    ("currency", "int_orders_enriched", "currency"),
    ("product", "int_order_items_enriched", "product_id"),
    ("category", "int_order_items_enriched", "category_id"),
    ("department", "int_order_items_enriched", "department"),
]

EVENT_DIMS = [
    ("event_type", "event_type"),
    ("segment", "segment"),
    ("country", "country_code"),
    ("category", "category_id"),
]

PAYMENT_DIMS = [("method", "method"), ("country", "country_code")]

COUNTRIES = [  # code, name, region, currency
    ("C00", "Aland", "north", "EUR"), ("C01", "Borduria", "east", "BDD"), ("C02", "Carpania", "east", "EUR"),
    ("C03", "Druvia", "north", "SEK"), ("C04", "Elbonia", "east", "ELB"), ("C05", "Freedonia", "west", "USD"),
    ("C06", "Genovia", "south", "EUR"), ("C07", "Hyrule", "west", "USD"), ("C08", "Ishtar", "south", "EUR"),
    ("C09", "Jotunheim", "north", "NOK"), ("C10", "Krakozhia", "east", "EUR"), ("C11", "Latveria", "east", "EUR"),
    ("C12", "Markovia", "east", "EUR"), ("C13", "Narnia", "north", "GBP"), ("C14", "Orsinia", "south", "EUR"),
    ("C15", "Panem", "west", "USD"), ("C16", "Qumar", "south", "USD"), ("C17", "Ruritania", "south", "EUR"),
    ("C18", "Sokovia", "east", "EUR"), ("C19", "Tomania", "west", "EUR"),
]
CHANNELS = [("web", "online", 1), ("app", "online", 1), ("store", "offline", 0), ("phone", "offline", 0)]
METHODS = [("card", "instant"), ("paypal", "instant"), ("transfer", "deferred"), ("voucher", "instant")]
STATUSES = ["completed", "returned", "cancelled"]
EVENT_TYPES = ["view", "click", "search", "wishlist", "add_to_cart", "checkout"]


def files() -> dict[str, str]:
    """Every file of the project, by path relative to benchmarks/project/."""
    out: dict[str, str] = {}
    out["dbt_project.yml"] = DBT_PROJECT
    out["macros/bench.sql"] = MACROS
    out["seeds/countries.csv"] = _csv(["country_code", "country_name", "region", "currency"], COUNTRIES)
    out["seeds/channels.csv"] = _csv(["channel", "channel_group", "is_online"], CHANNELS)
    out["seeds/payment_methods.csv"] = _csv(["method", "settlement"], METHODS)
    out["seeds/seeds.yml"] = SEEDS_YML
    out["snapshots/snapshots.yml"] = SNAPSHOTS_YML
    out["models/sources.yml"] = SOURCES_YML
    out.update(_staging())
    out.update(_intermediate())
    out.update(_marts())
    out.update(_reporting())
    out["tests/assert_run_healthy.sql"] = ASSERT_RUN_HEALTHY
    out["tests/assert_revenue_reconciles.sql"] = ASSERT_REVENUE_RECONCILES
    out["tests/assert_kpis_healthy.sql"] = ASSERT_KPIS_HEALTHY
    return out


def _csv(header: list[str], rows: list[tuple]) -> str:
    return "\n".join([",".join(header), *(",".join(str(v) for v in r) for r in rows)]) + "\n"


def _sql(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


# -- fixed files ------------------------------------------------------------------------------

DBT_PROJECT = _sql(
    """
    # The sagaz-dbt benchmark project (written by benchmarks/make_project.py: edit that, not this).
    # Raw tables come from benchmarks/generate.py in schema <target schema>_raw; the layers
    # land in <target schema>_staging, _intermediate, _marts, _reporting, _snapshots.
    name: sagaz_bench
    version: "1.0.0"
    config-version: 2
    require-dbt-version: [">=1.11.0", "<1.12.0"]
    profile: sagaz_bench

    model-paths: ["models"]
    seed-paths: ["seeds"]
    test-paths: ["tests"]
    macro-paths: ["macros"]
    snapshot-paths: ["snapshots"]
    clean-targets: ["target", "dbt_packages", "logs"]

    models:
      sagaz_bench:
        staging:
          +materialized: view
          +schema: staging
        intermediate:
          +materialized: table
          +schema: intermediate
        marts:
          +materialized: table
          +schema: marts
        reporting:
          +materialized: view
          +schema: reporting

    seeds:
      sagaz_bench:
        +schema: staging
    """
)

MACROS = _sql(
    """
    {#- Portable helpers: the project runs unchanged on DuckDB and PostgreSQL. -#}

    {% macro ratio(numerator, denominator, scale=4) -%}
      {#- Exact: a decimal quotient, never a floating point sum. -#}
      case when {{ denominator }} = 0 then null
           else round(cast({{ numerator }} as decimal(38, 6)) / {{ denominator }}, {{ scale }}) end
    {%- endmacro %}

    {% macro week_of(col) -%}
      cast(date_trunc('week', {{ col }}) as date)
    {%- endmacro %}

    {% macro month_of(col) -%}
      cast(date_trunc('month', {{ col }}) as date)
    {%- endmacro %}

    {% macro grain_key(cols) -%}
      {%- set parts = [] -%}
      {%- for c in cols -%}{%- do parts.append("coalesce(cast(" ~ c ~ " as varchar), '')") -%}{%- endfor -%}
      {{ parts | join(" || '|' || ") }}
    {%- endmacro %}

    {% macro last_day_filter(col) -%}
      {#- Incremental batches: the last day present in the table is rebuilt on every run
          (late data), so a run replaces exactly one day and repeated runs are idempotent. -#}
      {%- if is_incremental() -%}
      where {{ col }} >= (select max({{ col }}) from {{ this }})
      {%- endif -%}
    {%- endmacro %}
    """
)

SEEDS_YML = _sql(
    """
    version: 2
    seeds:
      - name: countries
        columns:
          - name: country_code
            data_tests: [unique, not_null]
      - name: channels
        columns:
          - name: channel
            data_tests: [unique, not_null]
      - name: payment_methods
        columns:
          - name: method
            data_tests: [unique, not_null]
    """
)

SNAPSHOTS_YML = _sql(
    """
    version: 2
    snapshots:
      - name: snap_customers
        relation: source('raw', 'raw_customers')
        config:
          schema: snapshots
          unique_key: customer_id
          strategy: timestamp
          updated_at: updated_at
    """
)

SOURCES_YML = _sql(
    """
    version: 2
    sources:
      - name: raw
        schema: "{{ target.schema }}_raw"
        description: Written by benchmarks/generate.py; the largest tables hold the benchmark's size.
        tables:
          - name: raw_customers
          - name: raw_categories
          - name: raw_products
          - name: raw_stores
          - name: raw_orders
          - name: raw_order_items
          - name: raw_payments
          - name: raw_events
          - name: bench_control
            description: One row. tag scales prices; fail_test names the singular test that must fail (empty - none).
    """
)

ASSERT_RUN_HEALTHY = _sql(
    """
    -- The last node of every build: it reads rpt_run_summary, which reads every mart.
    -- It fails only when the control row says so (the benchmark's rollback case).
    select s.*
    from {{ ref('rpt_run_summary') }} as s
    cross join {{ source('raw', 'bench_control') }} as c
    where c.fail_test = 'assert_run_healthy'
    """
)

ASSERT_KPIS_HEALTHY = _sql(
    """
    -- The last node of `--select +fct_daily_kpis` (the quick mode's build): fails only when
    -- the control row says so.
    select k.*
    from {{ ref('fct_daily_kpis') }} as k
    cross join {{ source('raw', 'bench_control') }} as c
    where c.fail_test = 'assert_kpis_healthy'
    """
)

ASSERT_REVENUE_RECONCILES = _sql(
    """
    -- Revenue by day agrees between the order-level and the item-level marts.
    select o.order_date, o.revenue, i.revenue
    from (select order_date, sum(revenue) as revenue from {{ ref('sales_by_store_day') }} group by 1) as o
    join (select order_date, sum(revenue) as revenue from {{ ref('sales_by_product_day') }} group by 1) as i
      on o.order_date = i.order_date
    where o.revenue <> i.revenue
    """
)


# -- staging ----------------------------------------------------------------------------------


def _staging() -> dict[str, str]:
    m: dict[str, str] = {}
    m["models/staging/stg_run_control.sql"] = _sql(
        """
        {{ config(materialized='table') }}
        -- The run's price tag, frozen in a table at build time: the staging views read this
        -- table (not the raw control row), so a rollback restores what they show.
        select tag from {{ source('raw', 'bench_control') }}
        """
    )
    m["models/staging/stg_customers.sql"] = _sql(
        """
        select customer_id, customer_name, country_code, segment, signup_date, updated_at
        from {{ source('raw', 'raw_customers') }}
        """
    )
    m["models/staging/stg_categories.sql"] = _sql(
        """
        select category_id, category_name, department
        from {{ source('raw', 'raw_categories') }}
        """
    )
    m["models/staging/stg_products.sql"] = _sql(
        """
        select p.product_id, p.product_name, p.category_id,
               cast(p.list_price * (1 + c.tag * 0.001) as decimal(12, 2)) as list_price,
               p.unit_cost
        from {{ source('raw', 'raw_products') }} as p
        cross join {{ ref('stg_run_control') }} as c
        """
    )
    m["models/staging/stg_stores.sql"] = _sql(
        """
        select store_id, store_name, country_code, opened_date
        from {{ source('raw', 'raw_stores') }}
        """
    )
    m["models/staging/stg_orders.sql"] = _sql(
        """
        select order_id, customer_id, store_id, channel, status, order_date, order_ts
        from {{ source('raw', 'raw_orders') }}
        """
    )
    m["models/staging/stg_order_items.sql"] = _sql(
        """
        select i.item_id, i.order_id, i.product_id, i.quantity,
               cast(i.unit_price * (1 + c.tag * 0.001) as decimal(12, 2)) as unit_price,
               i.discount, i.order_date
        from {{ source('raw', 'raw_order_items') }} as i
        cross join {{ ref('stg_run_control') }} as c
        """
    )
    m["models/staging/stg_payments.sql"] = _sql(
        """
        select p.payment_id, p.order_id, p.method,
               cast(p.amount * (1 + c.tag * 0.001) as decimal(14, 2)) as amount,
               p.paid_date
        from {{ source('raw', 'raw_payments') }} as p
        cross join {{ ref('stg_run_control') }} as c
        """
    )
    m["models/staging/stg_events.sql"] = _sql(
        """
        select e.event_id, e.session_id, e.customer_id, e.product_id, e.event_type, e.event_date, e.event_ts,
               cast(e.event_value * (1 + c.tag * 0.001) as decimal(12, 2)) as event_value
        from {{ source('raw', 'raw_events') }} as e
        cross join {{ ref('stg_run_control') }} as c
        """
    )
    m["models/staging/stg_countries.sql"] = _sql(
        "select country_code, country_name, region, currency from {{ ref('countries') }}"
    )
    m["models/staging/stg_channels.sql"] = _sql(
        "select channel, channel_group, is_online from {{ ref('channels') }}"
    )
    m["models/staging/stg_payment_methods.sql"] = _sql(
        "select method, settlement from {{ ref('payment_methods') }}"
    )
    m["models/staging/stg_dates.sql"] = _sql(
        """
        {{ config(materialized='table') }}
        -- The calendar the orders span, one row per day.
        select distinct order_date as date_day,
               {{ week_of('order_date') }} as week_start,
               {{ month_of('order_date') }} as month_start,
               cast(extract(dow from order_date) as integer) as day_of_week
        from {{ ref('stg_orders') }}
        """
    )
    m["models/staging/staging.yml"] = _sql(
        """
        version: 2
        models:
          - name: stg_customers
            columns:
              - name: customer_id
                data_tests: [not_null]
          - name: stg_products
            columns:
              - name: product_id
                data_tests: [unique, not_null]
          - name: stg_categories
            columns:
              - name: category_id
                data_tests: [unique, not_null]
          - name: stg_stores
            columns:
              - name: store_id
                data_tests: [unique, not_null]
          - name: stg_orders
            columns:
              - name: status
                data_tests:
                  - accepted_values:
                      arguments:
                        values: ['completed', 'returned', 'cancelled']
          - name: stg_dates
            columns:
              - name: date_day
                data_tests: [unique, not_null]
          - name: stg_countries
            columns:
              - name: country_code
                data_tests: [not_null]
        """
    )
    return m


# -- intermediate -----------------------------------------------------------------------------


def _intermediate() -> dict[str, str]:
    m: dict[str, str] = {}
    d = "models/intermediate/"
    m[d + "int_order_totals.sql"] = _sql(
        """
        {{ config(materialized='ephemeral') }}
        select order_id,
               count(*) as items,
               sum(quantity) as units,
               sum(revenue) as revenue,
               sum(cost) as cost
        from {{ ref('int_order_items_enriched') }}
        group by order_id
        """
    )
    m[d + "int_payments_by_order.sql"] = _sql(
        """
        {{ config(materialized='ephemeral') }}
        select order_id, count(*) as payments, sum(amount) as paid, max(paid_date) as last_paid_date
        from {{ ref('stg_payments') }}
        group by order_id
        """
    )
    m[d + "int_customer_geo.sql"] = _sql(
        """
        {{ config(materialized='ephemeral') }}
        select c.customer_id, c.segment, c.country_code, k.region, k.currency
        from {{ ref('stg_customers') }} as c
        left join {{ ref('stg_countries') }} as k on k.country_code = c.country_code
        """
    )
    m[d + "int_product_catalog.sql"] = _sql(
        """
        {{ config(materialized='ephemeral') }}
        select p.product_id, p.product_name, p.category_id, c.category_name, c.department, p.list_price, p.unit_cost
        from {{ ref('stg_products') }} as p
        join {{ ref('stg_categories') }} as c on c.category_id = p.category_id
        """
    )
    m[d + "int_order_items_enriched.sql"] = _sql(
        """
        -- One row per order line (the largest table of the project).
        select i.item_id, i.order_id, i.order_date, i.product_id, p.category_id, p.department,
               i.quantity, i.unit_price, i.discount,
               cast(i.quantity * i.unit_price * (1 - i.discount) as decimal(18, 2)) as revenue,
               cast(i.quantity * p.unit_cost as decimal(18, 2)) as cost
        from {{ ref('stg_order_items') }} as i
        join {{ ref('int_product_catalog') }} as p on p.product_id = i.product_id
        """
    )
    m[d + "int_orders_enriched.sql"] = _sql(
        """
        select o.order_id, o.customer_id, o.store_id, o.channel, o.status, o.order_date, o.order_ts,
               g.segment, g.country_code, g.region, g.currency,
               coalesce(t.items, 0) as items,
               coalesce(t.units, 0) as units,
               coalesce(t.revenue, 0) as revenue,
               coalesce(t.cost, 0) as cost,
               coalesce(p.paid, 0) as paid,
               p.last_paid_date
        from {{ ref('stg_orders') }} as o
        left join {{ ref('int_customer_geo') }} as g on g.customer_id = o.customer_id
        left join {{ ref('int_order_totals') }} as t on t.order_id = o.order_id
        left join {{ ref('int_payments_by_order') }} as p on p.order_id = o.order_id
        """
    )
    m[d + "int_payments_enriched.sql"] = _sql(
        """
        select p.payment_id, p.order_id, p.method, m.settlement, p.amount, p.paid_date, o.country_code
        from {{ ref('stg_payments') }} as p
        join {{ ref('stg_payment_methods') }} as m on m.method = p.method
        join {{ ref('int_orders_enriched') }} as o on o.order_id = p.order_id
        """
    )
    m[d + "int_events_enriched.sql"] = _sql(
        """
        select e.event_id, e.session_id, e.customer_id, e.product_id, e.event_type, e.event_date, e.event_ts,
               e.event_value, g.segment, g.country_code, p.category_id
        from {{ ref('stg_events') }} as e
        left join {{ ref('int_customer_geo') }} as g on g.customer_id = e.customer_id
        left join {{ ref('stg_products') }} as p on p.product_id = e.product_id
        """
    )
    m[d + "int_sessions.sql"] = _sql(
        """
        select session_id,
               min(customer_id) as customer_id,
               min(event_date) as session_date,
               min(event_ts) as started_at,
               max(event_ts) as ended_at,
               count(*) as events,
               sum(case when event_type = 'add_to_cart' then 1 else 0 end) as add_to_carts,
               sum(case when event_type = 'checkout' then 1 else 0 end) as checkouts,
               sum(event_value) as session_value
        from {{ ref('int_events_enriched') }}
        group by session_id
        """
    )
    m[d + "int_customer_orders.sql"] = _sql(
        """
        select customer_id,
               count(*) as orders,
               sum(case when status = 'completed' then 1 else 0 end) as completed_orders,
               sum(revenue) as revenue,
               sum(cost) as cost,
               min(order_date) as first_order_date,
               max(order_date) as last_order_date
        from {{ ref('int_orders_enriched') }}
        group by customer_id
        """
    )
    m[d + "int_customer_events.sql"] = _sql(
        """
        select customer_id, count(*) as events, count(distinct session_id) as sessions,
               min(event_date) as first_seen, max(event_date) as last_seen
        from {{ ref('int_events_enriched') }}
        group by customer_id
        """
    )
    m[d + "int_product_sales.sql"] = _sql(
        """
        select product_id, count(*) as lines, sum(quantity) as units, sum(revenue) as revenue, sum(cost) as cost,
               count(distinct order_id) as orders
        from {{ ref('int_order_items_enriched') }}
        group by product_id
        """
    )
    m[d + "int_product_events.sql"] = _sql(
        """
        {{ config(materialized='ephemeral') }}
        select product_id,
               sum(case when event_type = 'view' then 1 else 0 end) as views,
               sum(case when event_type = 'add_to_cart' then 1 else 0 end) as add_to_carts
        from {{ ref('int_events_enriched') }}
        group by product_id
        """
    )
    m[d + "int_store_daily.sql"] = _sql(
        """
        select store_id, order_date, count(*) as orders, sum(revenue) as revenue, sum(cost) as cost
        from {{ ref('int_orders_enriched') }}
        group by store_id, order_date
        """
    )
    m[d + "int_customer_first_order.sql"] = _sql(
        """
        {{ config(materialized='ephemeral') }}
        select customer_id, first_order_date, {{ month_of('first_order_date') }} as cohort_month
        from {{ ref('int_customer_orders') }}
        """
    )
    m[d + "int_returns.sql"] = _sql(
        """
        {{ config(materialized='ephemeral') }}
        select order_id, order_date, store_id, channel, revenue
        from {{ ref('int_orders_enriched') }}
        where status = 'returned'
        """
    )
    m[d + "int_daily_funnel.sql"] = _sql(
        """
        select event_date,
               sum(case when event_type = 'view' then 1 else 0 end) as views,
               sum(case when event_type = 'click' then 1 else 0 end) as clicks,
               sum(case when event_type = 'add_to_cart' then 1 else 0 end) as add_to_carts,
               sum(case when event_type = 'checkout' then 1 else 0 end) as checkouts
        from {{ ref('int_events_enriched') }}
        group by event_date
        """
    )
    m[d + "int_channel_daily.sql"] = _sql(
        """
        {{ config(materialized='view') }}
        select channel, order_date, count(*) as orders, sum(revenue) as revenue
        from {{ ref('int_orders_enriched') }}
        group by channel, order_date
        """
    )
    m[d + "intermediate.yml"] = _sql(
        """
        version: 2
        models:
          - name: int_orders_enriched
            columns:
              - name: order_id
                data_tests: [unique, not_null]
          - name: int_order_items_enriched
            columns:
              - name: item_id
                data_tests: [not_null]
          - name: int_customer_orders
            columns:
              - name: customer_id
                data_tests: [unique, not_null]
          - name: int_product_sales
            columns:
              - name: product_id
                data_tests: [unique, not_null]
          - name: int_sessions
            columns:
              - name: session_id
                data_tests: [not_null]
          - name: int_store_daily
            columns:
              - name: store_id
                data_tests: [not_null]
          - name: int_daily_funnel
            columns:
              - name: event_date
                data_tests: [unique, not_null]
        """
    )
    return m


# -- marts ------------------------------------------------------------------------------------


def _grain_family(prefix: str, dim: str, day_sql: str, measures: list[str], date_col: str) -> tuple[dict[str, str], list[str]]:
    """One dimension at day (table), week (table) and month (view) grain; returns the files
    and the yml entries of their tests."""
    m: dict[str, str] = {}
    d = "models/marts/"
    day, week, month = f"{prefix}_by_{dim}_day", f"{prefix}_by_{dim}_week", f"{prefix}_by_{dim}_month"
    m[d + f"{day}.sql"] = day_sql
    sums = ",\n           ".join(f"sum({c}) as {c}" for c in measures)
    for name, grain, mat in ((week, "week_of", "table"), (month, "month_of", "view")):
        col = "week_start" if grain == "week_of" else "month_start"
        config = "{{ config(materialized='view') }}\n" if mat == "view" else ""
        m[d + f"{name}.sql"] = _sql(
            config
            + f"""
with g as (
    select {dim}_key,
           {{{{ {grain}('{date_col}') }}}} as {col},
           {sums}
    from {{{{ ref('{day}') }}}}
    group by 1, 2
)
select g.*, {{{{ grain_key(['{dim}_key', '{col}']) }}}} as grain_key
from g
"""
        )
    yml = [
        f"""  - name: {day}
    columns:
      - name: {date_col}
        data_tests: [not_null]""",
        f"""  - name: {week}
    columns:
      - name: grain_key
        data_tests: [unique, not_null]""",
        f"""  - name: {month}
    columns:
      - name: month_start
        data_tests: [not_null]""",
    ]
    return m, yml


def _marts() -> dict[str, str]:
    m: dict[str, str] = {}
    yml: list[str] = []
    d = "models/marts/"
    for dim, source, col in SALES_DIMS:
        if source == "int_orders_enriched":
            measures = ["orders", "units", "revenue", "cost"]
            day_sql = _sql(
                f"""
                select {col} as {dim}_key, order_date,
                       count(*) as orders, sum(units) as units, sum(revenue) as revenue, sum(cost) as cost
                from {{{{ ref('{source}') }}}}
                group by 1, 2
                """
            )
        else:
            measures = ["orders", "units", "revenue", "cost"]
            day_sql = _sql(
                f"""
                select {col} as {dim}_key, order_date,
                       count(distinct order_id) as orders, sum(quantity) as units, sum(revenue) as revenue,
                       sum(cost) as cost
                from {{{{ ref('{source}') }}}}
                group by 1, 2
                """
            )
        files, tests = _grain_family("sales", dim, day_sql, measures, "order_date")
        m.update(files)
        yml.extend(tests)
    for dim, col in EVENT_DIMS:
        day_sql = _sql(
            f"""
            select {col} as {dim}_key, event_date,
                   count(*) as events, count(distinct session_id) as sessions, sum(event_value) as event_value
            from {{{{ ref('int_events_enriched') }}}}
            group by 1, 2
            """
        )
        files, tests = _grain_family("events", dim, day_sql, ["events", "event_value"], "event_date")
        m.update(files)
        yml.extend(tests)
    for dim, col in PAYMENT_DIMS:
        day_sql = _sql(
            f"""
            select {col} as {dim}_key, paid_date,
                   count(*) as payments, sum(amount) as amount
            from {{{{ ref('int_payments_enriched') }}}}
            group by 1, 2
            """
        )
        files, tests = _grain_family("payments", dim, day_sql, ["payments", "amount"], "paid_date")
        m.update(files)
        yml.extend(tests)

    # dimensions
    m[d + "dim_customers.sql"] = _sql(
        """
        select c.customer_id, c.customer_name, c.segment, c.country_code, g.region, c.signup_date,
               coalesce(o.orders, 0) as orders, coalesce(o.revenue, 0) as revenue,
               o.first_order_date, o.last_order_date,
               coalesce(e.sessions, 0) as sessions
        from {{ ref('stg_customers') }} as c
        left join {{ ref('int_customer_geo') }} as g on g.customer_id = c.customer_id
        left join {{ ref('int_customer_orders') }} as o on o.customer_id = c.customer_id
        left join {{ ref('int_customer_events') }} as e on e.customer_id = c.customer_id
        """
    )
    m[d + "dim_products.sql"] = _sql(
        """
        select p.product_id, p.product_name, p.category_id, p.category_name, p.department, p.list_price,
               p.unit_cost, coalesce(s.units, 0) as units_sold, coalesce(s.revenue, 0) as revenue
        from {{ ref('int_product_catalog') }} as p
        left join {{ ref('int_product_sales') }} as s on s.product_id = p.product_id
        """
    )
    m[d + "dim_stores.sql"] = _sql(
        """
        select s.store_id, s.store_name, s.country_code, k.region, k.currency, s.opened_date
        from {{ ref('stg_stores') }} as s
        left join {{ ref('stg_countries') }} as k on k.country_code = s.country_code
        """
    )
    m[d + "dim_dates.sql"] = _sql(
        "select date_day, week_start, month_start, day_of_week, day_of_week in (0, 6) as is_weekend\n"
        "from {{ ref('stg_dates') }}"
    )
    m[d + "dim_channels.sql"] = _sql(
        """
        select c.channel, c.channel_group, c.is_online, count(o.order_id) as orders
        from {{ ref('stg_channels') }} as c
        left join {{ ref('int_orders_enriched') }} as o on o.channel = c.channel
        group by 1, 2, 3
        """
    )
    # incremental facts: each run replaces the last day
    m[d + "fct_orders.sql"] = _sql(
        """
        {{ config(materialized='incremental', unique_key='order_id', incremental_strategy='delete+insert') }}
        select order_id, customer_id, store_id, channel, status, order_date, items, units, revenue, cost, paid
        from {{ ref('int_orders_enriched') }}
        {{ last_day_filter('order_date') }}
        """
    )
    m[d + "fct_order_items.sql"] = _sql(
        """
        {{ config(materialized='incremental', unique_key='order_date', incremental_strategy='delete+insert') }}
        select item_id, order_id, order_date, product_id, category_id, quantity, unit_price, discount, revenue, cost
        from {{ ref('int_order_items_enriched') }}
        {{ last_day_filter('order_date') }}
        """
    )
    m[d + "fct_payments.sql"] = _sql(
        """
        {{ config(materialized='incremental', unique_key='payment_id', incremental_strategy='delete+insert') }}
        select payment_id, order_id, method, settlement, amount, paid_date, country_code
        from {{ ref('int_payments_enriched') }}
        {{ last_day_filter('paid_date') }}
        """
    )
    m[d + "fct_events.sql"] = _sql(
        """
        {{ config(materialized='incremental', unique_key='event_date', incremental_strategy='delete+insert') }}
        select event_id, session_id, customer_id, product_id, event_type, event_date, event_value, segment,
               country_code, category_id
        from {{ ref('int_events_enriched') }}
        {{ last_day_filter('event_date') }}
        """
    )
    m[d + "fct_sessions.sql"] = _sql(
        """
        select session_id, customer_id, session_date, events, add_to_carts, checkouts, session_value,
               checkouts > 0 as converted
        from {{ ref('int_sessions') }}
        """
    )
    m[d + "fct_daily_kpis.sql"] = _sql(
        """
        select d.date_day,
               coalesce(s.orders, 0) as orders, coalesce(s.revenue, 0) as revenue,
               coalesce(f.views, 0) as views, coalesce(f.checkouts, 0) as checkouts
        from {{ ref('dim_dates') }} as d
        left join (select order_date, sum(orders) as orders, sum(revenue) as revenue
                   from {{ ref('sales_by_store_day') }} group by order_date) as s on s.order_date = d.date_day
        left join {{ ref('int_daily_funnel') }} as f on f.event_date = d.date_day
        """
    )
    # customer and product marts
    m[d + "customer_ltv.sql"] = _sql(
        """
        select customer_id, orders, revenue, cost, revenue - cost as margin,
               {{ ratio('revenue', 'orders', 2) }} as revenue_per_order
        from {{ ref('int_customer_orders') }}
        """
    )
    m[d + "customer_cohorts.sql"] = _sql(
        """
        select f.cohort_month, {{ month_of('o.order_date') }} as order_month,
               count(distinct o.customer_id) as customers, sum(o.revenue) as revenue
        from {{ ref('int_orders_enriched') }} as o
        join {{ ref('int_customer_first_order') }} as f on f.customer_id = o.customer_id
        group by 1, 2
        """
    )
    m[d + "customer_rfm.sql"] = _sql(
        """
        select customer_id,
               ntile(5) over (order by last_order_date, customer_id) as recency_score,
               ntile(5) over (order by orders, customer_id) as frequency_score,
               ntile(5) over (order by revenue, customer_id) as monetary_score
        from {{ ref('int_customer_orders') }}
        """
    )
    m[d + "customer_segments.sql"] = _sql(
        """
        select segment, country_code, count(*) as customers, sum(orders) as orders, sum(revenue) as revenue
        from {{ ref('dim_customers') }}
        group by 1, 2
        """
    )
    m[d + "customer_engagement.sql"] = _sql(
        """
        select c.customer_id, c.events, c.sessions, coalesce(o.orders, 0) as orders,
               {{ ratio('coalesce(o.orders, 0)', 'c.sessions') }} as orders_per_session
        from {{ ref('int_customer_events') }} as c
        left join {{ ref('int_customer_orders') }} as o on o.customer_id = c.customer_id
        """
    )
    m[d + "product_performance.sql"] = _sql(
        """
        select p.product_id, p.category_id, p.units_sold, p.revenue,
               coalesce(e.views, 0) as views, coalesce(e.add_to_carts, 0) as add_to_carts,
               {{ ratio('p.units_sold', 'coalesce(e.views, 0)') }} as units_per_view
        from {{ ref('dim_products') }} as p
        left join {{ ref('int_product_events') }} as e on e.product_id = p.product_id
        """
    )
    m[d + "category_performance.sql"] = _sql(
        """
        select category_id, count(*) as products, sum(units_sold) as units, sum(revenue) as revenue,
               sum(views) as views
        from {{ ref('product_performance') }}
        group by category_id
        """
    )
    m[d + "store_performance.sql"] = _sql(
        """
        select s.store_id, s.region, sum(d.orders) as orders, sum(d.revenue) as revenue, sum(d.cost) as cost,
               count(*) as trading_days
        from {{ ref('dim_stores') }} as s
        join {{ ref('int_store_daily') }} as d on d.store_id = s.store_id
        group by 1, 2
        """
    )
    m[d + "channel_performance.sql"] = _sql(
        """
        select channel, sum(orders) as orders, sum(revenue) as revenue
        from {{ ref('int_channel_daily') }}
        group by channel
        """
    )
    m[d + "returns_by_store.sql"] = _sql(
        """
        select store_id, channel, count(*) as returns, sum(revenue) as returned_revenue
        from {{ ref('int_returns') }}
        group by 1, 2
        """
    )
    m[d + "funnel_daily.sql"] = _sql(
        """
        select event_date, views, clicks, add_to_carts, checkouts,
               {{ ratio('checkouts', 'views') }} as view_to_checkout
        from {{ ref('int_daily_funnel') }}
        """
    )
    m[d + "session_conversion.sql"] = _sql(
        """
        select session_date, count(*) as sessions, sum(case when converted then 1 else 0 end) as converted
        from {{ ref('fct_sessions') }}
        group by session_date
        """
    )
    m[d + "payment_reconciliation.sql"] = _sql(
        """
        select order_date, sum(revenue) as revenue, sum(paid) as paid,
               sum(case when paid < revenue then 1 else 0 end) as underpaid_orders
        from {{ ref('int_orders_enriched') }}
        group by order_date
        """
    )
    yml.append(
        """  - name: dim_customers
    columns:
      - name: customer_id
        data_tests:
          - unique
          - not_null
      - name: segment
        data_tests:
          - accepted_values:
              arguments:
                values: ['consumer', 'smb', 'enterprise', 'public']
  - name: dim_products
    columns:
      - name: product_id
        data_tests: [unique, not_null]
  - name: dim_stores
    columns:
      - name: store_id
        data_tests: [unique, not_null]
  - name: dim_dates
    columns:
      - name: date_day
        data_tests: [unique, not_null]
  - name: dim_channels
    columns:
      - name: channel
        data_tests: [unique, not_null]
  - name: fct_orders
    columns:
      - name: order_id
        data_tests: [unique, not_null]
      - name: customer_id
        data_tests:
          - relationships:
              arguments:
                to: ref('dim_customers')
                field: customer_id
      - name: channel
        data_tests:
          - accepted_values:
              arguments:
                values: ['web', 'app', 'store', 'phone']
  - name: fct_order_items
    columns:
      - name: item_id
        data_tests: [not_null]
  - name: fct_payments
    columns:
      - name: payment_id
        data_tests: [not_null]
  - name: fct_events
    columns:
      - name: event_id
        data_tests: [not_null]
  - name: fct_sessions
    columns:
      - name: session_id
        data_tests: [not_null]
  - name: fct_daily_kpis
    columns:
      - name: date_day
        data_tests: [unique, not_null]
  - name: customer_ltv
    columns:
      - name: customer_id
        data_tests: [unique]
  - name: customer_rfm
    columns:
      - name: recency_score
        data_tests: [not_null]
  - name: product_performance
    columns:
      - name: product_id
        data_tests: [unique]
  - name: category_performance
    columns:
      - name: category_id
        data_tests: [unique, not_null]
  - name: store_performance
    columns:
      - name: store_id
        data_tests: [unique, not_null]
  - name: funnel_daily
    columns:
      - name: event_date
        data_tests: [unique]
  - name: payment_reconciliation
    columns:
      - name: order_date
        data_tests: [unique, not_null]"""
    )
    m[d + "marts.yml"] = "version: 2\nmodels:\n" + "\n".join(yml) + "\n"
    return m


# -- reporting --------------------------------------------------------------------------------


def _reporting() -> dict[str, str]:
    m: dict[str, str] = {}
    d = "models/reporting/"
    m[d + "rpt_top_products.sql"] = _sql(
        """
        select product_id, revenue from {{ ref('dim_products') }}
        order by revenue desc, product_id
        limit 100
        """
    )
    m[d + "rpt_top_customers.sql"] = _sql(
        """
        select customer_id, revenue from {{ ref('customer_ltv') }}
        order by revenue desc, customer_id
        limit 100
        """
    )
    m[d + "rpt_store_leaderboard.sql"] = _sql(
        """
        select store_id, region, revenue, rank() over (partition by region order by revenue desc) as region_rank
        from {{ ref('store_performance') }}
        """
    )
    m[d + "rpt_daily_kpis.sql"] = _sql(
        "select date_day, orders, revenue, views, checkouts from {{ ref('fct_daily_kpis') }}"
    )
    m[d + "rpt_monthly_sales.sql"] = _sql(
        """
        select month_start, sum(revenue) as revenue, sum(orders) as orders
        from {{ ref('sales_by_store_month') }}
        group by month_start
        """
    )
    m[d + "rpt_funnel.sql"] = _sql(
        "select event_date, views, checkouts, view_to_checkout from {{ ref('funnel_daily') }}"
    )
    m[d + "rpt_payment_mix.sql"] = _sql(
        """
        select method_key as method, sum(amount) as amount, sum(payments) as payments
        from {{ ref('payments_by_method_month') }}
        group by method_key
        """
    )
    m[d + "rpt_segment_mix.sql"] = _sql(
        "select segment, sum(customers) as customers, sum(revenue) as revenue from {{ ref('customer_segments') }} group by segment"
    )
    m[d + "rpt_cohort_retention.sql"] = _sql(
        """
        select cohort_month, order_month, customers, revenue from {{ ref('customer_cohorts') }}
        """
    )
    m[d + "rpt_returns.sql"] = _sql(
        "select store_id, sum(returns) as returns from {{ ref('returns_by_store') }} group by store_id"
    )
    return m


def summary_sql(files_: dict[str, str]) -> str:
    """rpt_run_summary: one row per table model of the marts, read after all of them."""
    marts = sorted(
        Path(p).stem
        for p, text in files_.items()
        if p.startswith("models/marts/") and p.endswith(".sql") and "materialized='view'" not in text
    )
    parts = [f"select '{name}' as model_name, count(*) as row_count from {{{{ ref('{name}') }}}}" for name in marts]
    return (
        "{{ config(materialized='table') }}\n"
        "-- Row counts of every mart table: built last, so its test is the last node of the run.\n"
        + "\nunion all\n".join(parts)
        + "\n"
    )


#: Where `python -m benchmarks.make_project --replicas N` writes the large project (gitignored:
#: ~1,000 models are regenerated in a second, never committed).
LARGE_PROJECT = HERE / ".work" / "large_project"
#: The large project: the shop project 9 times = 1,026 models, 9 snapshots, ~800 tests.
LARGE_REPLICAS = 9

#: Singular tests that only the first replica has: they are the fail cases' last nodes,
#: selected by name (the control row names the test that must fail).
_ONLY_FIRST = ("tests/assert_run_healthy.sql", "tests/assert_kpis_healthy.sql")


def project_files(replicas: int = 1) -> dict[str, str]:
    """The shop project, or `replicas` copies of it in one project: replica k > 0 has every
    model, snapshot and singular test under the prefix `rK_` (same schemas, same sources and
    seeds), so the project grows in nodes, not in kinds of node: a project shaped like large
    real ones (many views and tables in few schemas, some incrementals and snapshots).  A
    replica keeps one test where the shop project has `[unique, not_null]` on a column, so
    tests stay near 0.8 per model."""
    import re

    contents = files()
    contents["models/reporting/rpt_run_summary.sql"] = summary_sql(contents)
    if replicas <= 1:
        return contents
    models = {Path(p).stem for p in contents if p.startswith("models/") and p.endswith(".sql")}
    models |= {"snap_customers"}
    out = dict(contents)
    for k in range(1, replicas):
        prefix = f"r{k}_"
        ref = re.compile(r"ref\('(\w+)'\)")
        named = re.compile(r"^(\s*- name: )(\w+)$", re.M)

        def rename(text: str) -> str:
            text = ref.sub(lambda m: f"ref('{prefix}{m[1]}')" if m[1] in models else m[0], text)
            text = named.sub(lambda m: m[1] + (prefix + m[2] if m[2] in models else m[2]), text)
            return text.replace("'assert_", f"'{prefix}assert_")

        for path, text in contents.items():
            if path in _ONLY_FIRST or path == "models/sources.yml" or not path.startswith(("models/", "snapshots/", "tests/")):
                continue
            folder, name = path.rsplit("/", 1)
            if path.endswith(".yml"):
                text = text.replace("data_tests: [unique, not_null]", "data_tests: [unique]")
            out[f"{folder}/{prefix}{name}"] = rename(text)
    return out


def write(project: Path = PROJECT, replicas: int = 1) -> int:
    contents = project_files(replicas)
    if project.exists():
        for sub in ("models", "macros", "seeds", "snapshots", "tests"):
            shutil.rmtree(project / sub, ignore_errors=True)
    for rel, text in contents.items():
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return sum(1 for p in contents if p.startswith("models/") and p.endswith(".sql"))


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.make_project")
    parser.add_argument("--replicas", type=int, default=1, help=f"copies of the shop project ({LARGE_REPLICAS}: the large project)")
    parser.add_argument("--out", type=Path, default=None, help="default: benchmarks/project, or .work/large_project with --replicas")
    args = parser.parse_args()
    out = args.out or (PROJECT if args.replicas <= 1 else LARGE_PROJECT)
    n = write(out, args.replicas)
    print(f"wrote {out} ({n} models)")
