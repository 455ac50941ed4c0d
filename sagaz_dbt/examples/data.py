"""Deterministic input data for the example project (`dbt_project/seeds/`).

Every seed CSV of the four example pipelines is written by this module: the committed files
are its output with the defaults, so `python -m sagaz_dbt.examples.data dbt_project/seeds`
rewrites them byte for byte.  The same `rows` (and the same data fault) always gives the
same bytes: randomness comes from `random.Random` seeded with a fixed string.

`rows` scales the main table of each pipeline (orders, incoming sales, legacy orders,
events per batch); dimensions scale with it.  A *data fault* writes realistically bad input
that the pipeline's tests catch (the other failures are code bugs switched on with the
`fail` dbt var, see `sagaz_dbt.examples.pipelines`).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Iterable, Sequence

PIPELINES = ("etl", "quality", "migration", "lakehouse")

#: The lakehouse's landing batches; the ETL marts are rebuilt "as of" one of them.
BATCH_DATES = ("2026-01-06", "2026-01-07", "2026-01-08")

#: Rows of each pipeline's main table with no `--rows` (small: the whole project builds in seconds).
DEFAULT_ROWS = {"etl": 240, "quality": 400, "migration": 300, "lakehouse": 200}

#: Bad input each pipeline can be given, and what it looks like.
DATA_FAULTS = {
    "etl": {"orphans": "5% of the orders reference customers that do not exist"},
    "quality": {
        "nulls": "10% of the incoming sales have no customer_id (the gate errors above 5%)",
        "duplicates": "4% of the incoming sales are delivered twice (the gate errors above 1%)",
        "rules": "25% of the incoming sales break a business rule (the quarantine gate errors above 10%)",
    },
}

_FIRST = ("Ana", "Bruno", "Carla", "Diego", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas",
          "Kira", "Luis", "Marta", "Nuno", "Olga", "Pedro", "Rita", "Sofia", "Tiago", "Vera")
_LAST = ("Silva", "Santos", "Costa", "Moreau", "Weber", "Garcia", "Rossi", "Novak", "Berg", "Ito",
         "Khan", "Lopes", "Meyer", "Nunes", "Ortiz", "Pinto", "Reis", "Sousa", "Teixeira", "Vidal")
_COUNTRIES = ("PT", "ES", "FR", "DE", "BR", "US")
_CATEGORIES = ("books", "garden", "kitchen", "music", "sports", "toys")
_ADJECTIVES = ("Compact", "Deluxe", "Eco", "Classic", "Smart", "Travel")
_NOUNS = ("Kettle", "Lamp", "Backpack", "Speaker", "Planter", "Puzzle", "Racket", "Notebook")
_ORDER_STATUS = (("placed", 3), ("shipped", 4), ("delivered", 6), ("cancelled", 1))
_CHANNELS = ("web", "store", "app")
_REGIONS = ("north", "south", "east", "west")
_LEGACY_STATUS = (("N", 3), ("S", 4), ("D", 6), ("X", 1))
_EVENT_TYPES = (("page_view", 12), ("add_to_cart", 4), ("purchase", 2), ("signup", 1))


@dataclass(frozen=True)
class SeedFile:
    """One seed CSV: `seeds/<pipeline>/<name>.csv`."""

    pipeline: str
    name: str
    columns: tuple[str, ...]
    rows: list[tuple[object, ...]]

    @property
    def relpath(self) -> Path:
        return Path(self.pipeline) / f"{self.name}.csv"

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow(["" if v is None else v for v in row])
        return buf.getvalue()


def generate(pipeline: str, rows: int | None = None, fault: str | None = None) -> list[SeedFile]:
    """The seed files of one pipeline: `rows` rows in its main table, optionally bad input."""
    if pipeline not in PIPELINES:
        raise ValueError(f"unknown pipeline {pipeline!r}; choose one of {', '.join(PIPELINES)}")
    if fault is not None and fault not in DATA_FAULTS.get(pipeline, {}):
        known = ", ".join(DATA_FAULTS.get(pipeline, {})) or "none"
        raise ValueError(f"pipeline {pipeline!r} has no data fault {fault!r} (known: {known})")
    n = DEFAULT_ROWS[pipeline] if rows is None else int(rows)
    if n < 1:
        raise ValueError("rows must be at least 1")
    rng = random.Random(f"sagaz-dbt example {pipeline} {n}")
    return _GENERATORS[pipeline](rng, n, fault)


def write_seeds(
    seeds_dir: Path,
    pipelines: Iterable[str] = PIPELINES,
    rows: int | None = None,
    fault: str | None = None,
) -> list[Path]:
    """Write the seed CSVs of `pipelines` under `seeds_dir`; `fault` applies to the pipeline
    that knows it.  Files whose bytes do not change are left alone (dbt's partial parsing
    then keeps its cache).  Returns the paths written or checked."""
    pipelines = list(pipelines)
    if fault is not None and not any(fault in DATA_FAULTS.get(p, {}) for p in pipelines):
        raise ValueError(f"no selected pipeline has a data fault {fault!r}")
    paths: list[Path] = []
    for pipeline in pipelines:
        own_fault = fault if fault in DATA_FAULTS.get(pipeline, {}) else None
        for seed in generate(pipeline, rows, own_fault):
            path = Path(seeds_dir) / seed.relpath
            path.parent.mkdir(parents=True, exist_ok=True)
            text = seed.to_csv()
            if not (path.is_file() and path.read_text() == text):
                path.write_text(text)
            paths.append(path)
    return paths


# -- the pipelines' data -----------------------------------------------------------------


def _etl(rng: random.Random, n: int, fault: str | None) -> list[SeedFile]:
    n_customers = max(10, n // 5)
    n_products = max(5, n // 20)
    customers = []
    for cid in range(1, n_customers + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        signup = date(2025, 1, 1) + timedelta(days=rng.randrange(360))
        customers.append((cid, first, last, f"{first}.{last}{cid}@example.com".lower(),
                          rng.choice(_COUNTRIES), signup.isoformat()))
    products = []
    for i in range(1, n_products + 1):
        products.append((f"SKU-{i:05d}", f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}",
                         rng.choice(_CATEGORIES), _money(rng.randrange(250, 25000))))
    orphans = set(rng.sample(range(n), max(1, round(n * 0.05)))) if fault == "orphans" else set()
    orders = []
    for i in range(n):
        customer = n_customers + 1000 + i if i in orphans else rng.randrange(1, n_customers + 1)
        orders.append((100000 + i, customer, f"SKU-{rng.randrange(1, n_products + 1):05d}",
                       rng.randrange(1, 6), BATCH_DATES[i % len(BATCH_DATES)],
                       _weighted(rng, _ORDER_STATUS), rng.choice(_CHANNELS)))
    return [
        SeedFile("etl", "raw_customers",
                 ("customer_id", "first_name", "last_name", "email", "country", "signup_date"), customers),
        SeedFile("etl", "raw_products", ("sku", "product_name", "category", "unit_price"), products),
        SeedFile("etl", "raw_orders",
                 ("order_id", "customer_id", "sku", "quantity", "order_date", "status", "channel"), orders),
    ]


def _quality(rng: random.Random, n: int, fault: str | None) -> list[SeedFile]:
    null_ratio = 0.10 if fault == "nulls" else 0.02
    dup_ratio = 0.04 if fault == "duplicates" else 0.005
    rule_ratio = 0.25 if fault == "rules" else 0.01
    nulls = set(rng.sample(range(n), min(n, round(n * null_ratio))))
    breaches = set(rng.sample(range(n), min(n, round(n * rule_ratio))))
    sales = []
    for i in range(n):
        quantity = rng.randrange(1, 8)
        price = rng.randrange(199, 9999)
        region = rng.choice(_REGIONS)
        if i in breaches:  # one broken business rule per row
            kind = rng.randrange(3)
            if kind == 0:
                quantity = -quantity
            elif kind == 1:
                price = 0
            else:
                region = "atlantis"
        sales.append((500000 + i, None if i in nulls else rng.randrange(1, max(10, n // 4) + 1),
                      f"SKU-{rng.randrange(1, 40):05d}", quantity, _money(price),
                      BATCH_DATES[i % len(BATCH_DATES)], region))
    n_dups = round(n * dup_ratio)
    for i in sorted(rng.sample(range(n), min(n, n_dups))):  # the same sale delivered twice
        sales.append(sales[i])
    return [SeedFile("quality", "incoming_sales",
                     ("sale_id", "customer_id", "sku", "quantity", "unit_price", "sale_date", "region"), sales)]


def _migration(rng: random.Random, n: int, fault: str | None) -> list[SeedFile]:
    n_customers = max(10, n // 3)
    customers = []
    for i in range(n_customers):
        cust_no = 7000 + i
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        email = f"{first}.{last}.{cust_no}@Example.COM"  # the legacy system kept the case users typed
        created = date(2018, 1, 1) + timedelta(days=rng.randrange(2500))
        customers.append((cust_no, f"{last.upper()}, {first}", email, rng.choice(_COUNTRIES),
                          created.isoformat(), "A" if rng.random() < 0.85 else "I"))
    orders = []
    for i in range(n):
        ordered = date(2024, 1, 1) + timedelta(days=rng.randrange(730))
        orders.append((900000 + i, 7000 + rng.randrange(n_customers), ordered.isoformat(),
                       rng.randrange(150, 50000), rng.choice(("EUR", "EUR", "USD")),
                       _weighted(rng, _LEGACY_STATUS)))
    return [
        SeedFile("migration", "legacy_customers",
                 ("cust_no", "cust_name", "email_addr", "ctry_cd", "created_dt", "status_flg"), customers),
        SeedFile("migration", "legacy_orders",
                 ("ord_no", "cust_no", "ord_dt", "amt_cents", "curr_cd", "status_cd"), orders),
    ]


def _lakehouse(rng: random.Random, n: int, fault: str | None) -> list[SeedFile]:
    n_users = max(5, n // 4)
    events = []
    for b, batch in enumerate(BATCH_DATES):
        batch_events = []
        for i in range(n):
            event_type = _weighted(rng, _EVENT_TYPES)
            roll = rng.random()
            if roll < 0.02:
                user = None  # the tracker lost the user: silver drops the event
            else:
                user = str(rng.randrange(1, n_users + 1))
            if 0.02 <= roll < 0.03:
                event_type = "unknown"  # an event type the schema does not know: dropped too
            seconds = rng.randrange(86400)
            ts = f"{batch} {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
            amount = _money(rng.randrange(500, 20000)) if event_type == "purchase" else None
            part = f"s3://raw-bucket/events/batch_date={batch}/part-{i * 4 // n:03d}.json"
            batch_events.append((f"evt-{batch.replace('-', '')}-{i:07d}", batch, ts, user, event_type, amount, part))
        redelivered = sorted(rng.sample(range(n), round(n * 0.03)))
        for i in redelivered:  # at-least-once delivery: the same event again, in the batch's last file
            again = batch_events[i]
            batch_events.append((*again[:-1], f"s3://raw-bucket/events/batch_date={batch}/part-retry.json"))
        events.extend(batch_events)
    return [SeedFile("lakehouse", "landing_events",
                     ("event_id", "batch_date", "event_ts", "user_id", "event_type", "amount", "source_file"),
                     events)]


_GENERATORS = {"etl": _etl, "quality": _quality, "migration": _migration, "lakehouse": _lakehouse}


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _weighted(rng: random.Random, choices: Sequence[tuple[str, int]]) -> str:
    values = [c for c, _ in choices]
    weights = [w for _, w in choices]
    return rng.choices(values, weights=weights, k=1)[0]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sagaz_dbt.examples.data",
        description="Write the example project's seed CSVs (deterministic).",
    )
    parser.add_argument("seeds_dir", type=Path, help="the project's seeds folder, e.g. dbt_project/seeds")
    parser.add_argument("--rows", type=int, default=None, help="rows of each pipeline's main table")
    parser.add_argument("--pipeline", action="append", choices=PIPELINES, help="only this pipeline (repeatable)")
    parser.add_argument("--fault", default=None, help="write bad input: " + ", ".join(
        f"{p}:{f}" for p, faults in DATA_FAULTS.items() for f in faults))
    ns = parser.parse_args(argv)
    fault = ns.fault.split(":", 1)[-1] if ns.fault else None
    for path in write_seeds(ns.seeds_dir, ns.pipeline or PIPELINES, ns.rows, fault):
        print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
