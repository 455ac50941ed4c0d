"""Deterministic raw data for the benchmark projects, generated inside the warehouse.

Nothing is downloaded and nothing crosses the Python boundary row by row: every table is one
`create table ... as select ... from range(...)` (DuckDB) or `generate_series(...)`
(PostgreSQL), so 20M rows take seconds.  Values come from multiplicative hashing of the row
number, so the same size always gives the same rows on either engine.

Sizes: `rows` is the row count of the largest tables (order lines and events); orders and
payments have rows/4, customers rows/50, products rows/1000 (bounded), over 365 days.

The incremental case (issue 5) has its own table, `raw_events_daily`, with a fixed number
of rows per day (`rows_per_day`), so one day's partition stays the same size whatever the
table's size: what grows with the table is then visible separately from the partition.
"""

from __future__ import annotations

from dataclasses import dataclass

BASE_DATE = "2024-01-01"
DAYS = 365


@dataclass(frozen=True)
class Dialect:
    name: str

    def series(self, n: int) -> str:
        """A one-column relation `g(i)` of 0..n-1."""
        if self.name == "duckdb":
            return f"range(0, {n}) as g(i)"
        return f"generate_series(cast(0 as bigint), {n - 1}) as g(i)"

    def idiv(self, a: str, b: str) -> str:
        return f"({a}) // ({b})" if self.name == "duckdb" else f"({a}) / ({b})"

    def day(self, offset: str) -> str:
        return f"(date '{BASE_DATE}' + cast({offset} as integer))"

    def ts(self, date_expr: str, seconds: str) -> str:
        if self.name == "duckdb":
            return f"cast({date_expr} + to_seconds(cast({seconds} as bigint)) as timestamp)"
        return f"cast({date_expr} + make_interval(secs => {seconds}) as timestamp)"

    def pick(self, expr: str, values: list[str]) -> str:
        cases = " ".join(f"when {k} then '{v}'" for k, v in enumerate(values))
        return f"case ({expr}) % {len(values)} {cases} end"

    def money(self, expr: str, cents_mod: int, scale: int = 12) -> str:
        return f"cast((({expr}) % {cents_mod}) / 100.0 + 1 as decimal({scale}, 2))"


@dataclass(frozen=True)
class Sizes:
    rows: int

    @property
    def orders(self) -> int:
        return max(self.rows // 4, 1)

    @property
    def customers(self) -> int:
        return max(self.rows // 50, 100)

    @property
    def products(self) -> int:
        return min(max(self.rows // 1000, 200), 20000)

    stores: int = 100
    categories: int = 40


def project_tables(d: Dialect, rows: int) -> dict[str, str]:
    """name -> SELECT producing the raw table of the 100-model project."""
    s = Sizes(rows)
    O, N, C, P = s.orders, rows, s.customers, s.products
    order_day = d.day(d.idiv(f"i * {DAYS}", str(O)))
    item_order = d.idiv("i", "4")
    item_day = d.day(d.idiv(f"({item_order}) * {DAYS}", str(O)))
    event_day = d.day(d.idiv(f"i * {DAYS}", str(N)))
    country = "'C' || lpad(cast((i * 7919) % 20 as varchar), 2, '0')"
    return {
        "raw_customers": f"""
            select i as customer_id,
                   'customer_' || cast(i as varchar) as customer_name,
                   {country} as country_code,
                   {d.pick('i * 31', ['consumer', 'smb', 'enterprise', 'public'])} as segment,
                   {d.day(f'(i * 13) % {DAYS}')} as signup_date,
                   {d.ts(d.day(f'(i * 13) % {DAYS}'), 'i % 86400')} as updated_at
            from {d.series(C)}""",
        "raw_categories": f"""
            select i as category_id, 'category_' || cast(i as varchar) as category_name,
                   'dept_' || cast(i % 8 as varchar) as department
            from {d.series(s.categories)}""",
        "raw_products": f"""
            select i as product_id, 'product_' || cast(i as varchar) as product_name,
                   (i * 13) % {s.categories} as category_id,
                   {d.money('i * 7907', 50000)} as list_price,
                   {d.money('i * 4099', 20000)} as unit_cost
            from {d.series(P)}""",
        "raw_stores": f"""
            select i as store_id, 'store_' || cast(i as varchar) as store_name,
                   'C' || lpad(cast(i % 20 as varchar), 2, '0') as country_code,
                   {d.day('-(i * 17) % 2000')} as opened_date
            from {d.series(s.stores)}""",
        "raw_orders": f"""
            select i as order_id,
                   (i * 2654435761) % {C} as customer_id,
                   (i * 40503) % {s.stores} as store_id,
                   {d.pick('i * 7', ['web', 'app', 'store', 'phone'])} as channel,
                   case when (i * 11) % 10 < 8 then 'completed' when (i * 11) % 10 = 8 then 'returned'
                        else 'cancelled' end as status,
                   {order_day} as order_date,
                   {d.ts(order_day, '(i * 37) % 86400')} as order_ts
            from {d.series(O)}""",
        "raw_order_items": f"""
            select i as item_id,
                   {item_order} as order_id,
                   (i * 2246822519) % {P} as product_id,
                   1 + (i * 3) % 5 as quantity,
                   {d.money('i * 97', 50000)} as unit_price,
                   cast(((i * 13) % 30) / 100.0 as decimal(4, 2)) as discount,
                   {item_day} as order_date
            from {d.series(N)}""",
        "raw_payments": f"""
            select i as payment_id, i as order_id,
                   {d.pick('i * 5', ['card', 'paypal', 'transfer', 'voucher'])} as method,
                   {d.money('i * 3571', 400000, 14)} as amount,
                   ({order_day} + cast(i % 3 as integer)) as paid_date
            from {d.series(O)}""",
        "raw_events": f"""
            select i as event_id,
                   {d.idiv('i', '10')} as session_id,
                   (({d.idiv('i', '10')}) * 1103515245) % {C} as customer_id,
                   (i * 69069) % {P} as product_id,
                   {d.pick('i * 17', ['view', 'click', 'search', 'wishlist', 'add_to_cart', 'checkout'])} as event_type,
                   {event_day} as event_date,
                   {d.ts(event_day, '(i * 53) % 86400')} as event_ts,
                   {d.money('i * 211', 10000)} as event_value
            from {d.series(N)}""",
    }


def incremental_table(d: Dialect, rows: int, rows_per_day: int) -> str:
    """raw_events_daily: `rows` events, `rows_per_day` of them on each day, in date order."""
    day = d.day(d.idiv("i", str(rows_per_day)))
    return f"""
        select i as event_id,
               (i * 1103515245) % 100000 as customer_id,
               {d.pick('i * 17', ['view', 'click', 'search', 'wishlist', 'add_to_cart', 'checkout'])} as event_type,
               {day} as event_date,
               {d.ts(day, '(i * 53) % 86400')} as event_ts,
               {d.money('i * 211', 10000)} as event_value
        from {d.series(rows)}"""


#: The control row: `tag` scales prices and values (a new tag changes every amount
#: downstream); `fail_test` names the singular test that must fail ('' for none).
CONTROL = "select 0 as tag, cast('' as varchar(64)) as fail_test"
