"""A lease on storage without compare-and-swap: who holds it, and when a holder has lost it.

The pure part of the Spark Thrift lock (sagaz_dbt/engines/spark.py, `SparkLeaseLock`):
the warehouse statements live there, the decisions here, so they can be tested without a
warehouse.

The protocol, for one lease (one journal schema):

1. Claim: write a claim of one's own, stamped with the warehouse's clock and carrying its
   time to live (TTL).  Once the write returns, every later read sees it.
2. Read every claim, with the warehouse's clock of that same read.
3. Hold the lease only if one's own claim is the ONLY live claim read (`verdict`).
   Otherwise withdraw one's claim and report busy, or try again later (--wait).

A claim is live while its last beat (its claim or a later heartbeat) is younger than its
TTL on the warehouse's clock; a claim whose rows cannot be read yet counts as live.

Why two runs never both hold it: let A's claim return before B's (one of the two returns
first).  B reads after its own claim returned, so after A's; B's read sees A's claim, and
A's claim is live then unless A has withdrawn it (A no longer holds) or let it expire (A
no longer holds either: see `HolderClock`).  So B does not hold.  Both may withdraw (each
saw the other): no one holds, and both try again after a jittered pause.

A holder keeps its claim live by beating (one more stamped row) well inside its TTL, and
judges its own lease on its local monotonic clock, conservatively (`HolderClock`): its
lease lapses at (start of its last beat that returned in time) + TTL - margin.  The
start precedes the warehouse's stamp, so the holder gives up before any other run can
see its claim expire.  A beat that returns after the lapse does not revive it: a lapse is
final: the holder interrupts its command at once (engines/spark.py `_stop_the_run`), which
reports the loss (LockLostError) and leaves the run to `recover`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

#: A claim's time to live unless SAGAZ_DBT_LEASE_TTL says otherwise (seconds).
DEFAULT_TTL_SECONDS = 60.0
#: Shortest TTL accepted: a beat costs about a second on a Spark Thrift server.
MIN_TTL_SECONDS = 5.0


@dataclass(frozen=True)
class Claim:
    """One claim as read from the warehouse."""

    claim_id: str
    #: The warehouse clock of its last beat, in microseconds; None while its rows cannot be read.
    beat_micros: int | None
    ttl_seconds: float | None
    holder: str = ""  # who made it, for messages: "host pid: command"

    def live(self, now_micros: int) -> bool:
        if self.beat_micros is None or self.ttl_seconds is None:
            return True  # being written: counts, so a racing claim is never overlooked
        return now_micros - self.beat_micros <= self.ttl_seconds * 1_000_000

    def age_seconds(self, now_micros: int) -> float | None:
        return None if self.beat_micros is None else (now_micros - self.beat_micros) / 1_000_000


@dataclass(frozen=True)
class Verdict:
    held: bool
    rivals: list[Claim]  # live claims other than one's own
    expired: list[Claim]  # dead claims (a crashed holder's): safe to remove


def verdict(mine: str, claims: list[Claim], now_micros: int) -> Verdict:
    """Does the claim `mine` hold the lease, given every claim read at `now_micros`?"""
    own = [c for c in claims if c.claim_id == mine]
    others = [c for c in claims if c.claim_id != mine]
    rivals = [c for c in others if c.live(now_micros)]
    expired = [c for c in others if not c.live(now_micros)]
    # Not seeing one's own claim (or seeing it expired) is not holding: the read proves nothing.
    held = bool(own) and all(c.live(now_micros) for c in own) and not rivals
    return Verdict(held=held, rivals=rivals, expired=expired)


def beat_interval(ttl_seconds: float) -> float:
    """How often a holder beats: four beats per TTL."""
    return ttl_seconds / 4.0


def safety_margin(ttl_seconds: float) -> float:
    """How much earlier than the warehouse the holder gives up on its own lease."""
    return ttl_seconds / 4.0


def backoff(attempt: int, base: float = 1.0, cap: float = 8.0, rng: random.Random | None = None) -> float:
    """The pause before claiming again: exponential, capped, with full jitter (so two runs
    that withdrew together do not collide again)."""
    draw = (rng or random).random()
    return base + draw * min(cap, base * (2 ** max(attempt - 1, 0)))


class HolderClock:
    """The holder's own view of its lease, on a monotonic clock (seconds)."""

    def __init__(self, ttl_seconds: float, claim_started: float) -> None:
        self.ttl = ttl_seconds
        self.margin = safety_margin(ttl_seconds)
        #: The lease is surely held until then (the claim's write started at claim_started).
        self.valid_until = claim_started + ttl_seconds - self.margin
        self.lost = False

    def beat(self, started: float, finished: float) -> bool:
        """A beat whose write started and returned at these times; True if it renewed the
        lease, False if the lease had lapsed before the beat returned (lost for good)."""
        if self.lost or finished >= self.valid_until:
            self.lost = True
            return False
        self.valid_until = max(self.valid_until, started + self.ttl - self.margin)
        return True

    def lose(self) -> None:
        """The claim is gone from the warehouse (another run judged it dead, or someone
        dropped it): the lease is lost for good."""
        self.lost = True

    def lapsed(self, now: float) -> bool:
        if now >= self.valid_until:
            self.lost = True
        return self.lost
