"""The lease protocol's decisions (sagaz_dbt/runtime/lease.py), without a warehouse: who
holds it, what has expired, and when a holder must consider its lease lost."""

from __future__ import annotations

import random

import pytest

from sagaz_dbt.runtime.lease import Claim, HolderClock, backoff, beat_interval, verdict

S = 1_000_000  # microseconds per second
NOW = 1_800_000_000 * S


def claim(cid: str, age: float | None, ttl: float | None = 60.0) -> Claim:
    return Claim(cid, None if age is None else NOW - int(age * S), ttl, holder=f"host pid 1: {cid}")


def test_a_lone_live_claim_holds() -> None:
    found = verdict("a", [claim("a", 0.5)], NOW)
    assert found.held and found.rivals == [] and found.expired == []


def test_a_live_rival_means_not_held_for_both() -> None:
    """Two racing claimers that see each other both back off: never both win."""
    claims = [claim("a", 1.0), claim("b", 0.2)]
    for mine, other in (("a", "b"), ("b", "a")):
        found = verdict(mine, claims, NOW)
        assert not found.held and [c.claim_id for c in found.rivals] == [other]


def test_an_expired_rival_does_not_count_and_is_reported_dead() -> None:
    found = verdict("a", [claim("a", 0.1), claim("dead", 61.0)], NOW)
    assert found.held and [c.claim_id for c in found.expired] == ["dead"]


def test_expiry_uses_each_claims_own_ttl() -> None:
    """A claimer with a short TTL (a test's, or a user's setting) expires on its own terms;
    a long one is still live at the same age."""
    assert not claim("x", 11.0, ttl=10.0).live(NOW)
    assert claim("y", 11.0, ttl=60.0).live(NOW)
    assert claim("z", 10.0, ttl=10.0).live(NOW)  # at the TTL exactly: still live


def test_a_claim_without_readable_rows_counts_as_live() -> None:
    """A claim being written must never be overlooked: treated as a live rival."""
    found = verdict("a", [claim("a", 0.0), claim("new", None)], NOW)
    assert not found.held and [c.claim_id for c in found.rivals] == ["new"]


def test_not_seeing_ones_own_claim_is_not_holding() -> None:
    assert not verdict("a", [], NOW).held
    assert not verdict("a", [claim("b", 90.0)], NOW).held  # others dead, but ours unseen
    assert not verdict("a", [claim("a", 61.0)], NOW).held  # ours already expired


def test_holder_clock_renews_on_beats_that_return_in_time() -> None:
    clock = HolderClock(ttl_seconds=20.0, claim_started=100.0)
    assert clock.valid_until == 115.0  # TTL minus a quarter: gives up before anyone else sees it expire
    assert not clock.lapsed(114.9)
    assert clock.beat(started=105.0, finished=106.0)
    assert clock.valid_until == 120.0 and not clock.lapsed(119.0)


def test_holder_clock_a_late_beat_does_not_revive_a_lapsed_lease() -> None:
    clock = HolderClock(ttl_seconds=20.0, claim_started=100.0)
    assert not clock.beat(started=110.0, finished=115.5)  # returned after the lease lapsed
    assert clock.lapsed(116.0)
    assert not clock.beat(started=116.0, finished=116.5)  # lost for good
    assert clock.lost


def test_holder_clock_a_claim_gone_from_the_warehouse_is_lost_for_good() -> None:
    clock = HolderClock(ttl_seconds=20.0, claim_started=100.0)
    clock.lose()
    assert clock.lapsed(100.5)
    assert not clock.beat(started=101.0, finished=101.5)


def test_holder_clock_lapses_without_beats() -> None:
    clock = HolderClock(ttl_seconds=8.0, claim_started=0.0)
    assert not clock.lapsed(5.9)
    assert clock.lapsed(6.0)
    assert clock.lapsed(1.0)  # a lapse is final, whatever the clock says later


def test_beats_come_well_inside_the_margin() -> None:
    """The holder beats four times per TTL and gives up a quarter TTL early: two beats in a
    row may fail before it loses the lease."""
    ttl = 60.0
    clock = HolderClock(ttl, claim_started=0.0)
    assert 2 * beat_interval(ttl) < clock.valid_until


@pytest.mark.parametrize("attempt", [1, 2, 3, 6, 20])
def test_backoff_is_jittered_and_capped(attempt: int) -> None:
    rng = random.Random(attempt)
    pauses = {round(backoff(attempt, rng=rng), 6) for _ in range(20)}
    assert len(pauses) > 1  # jittered: two runs that withdrew together do not retry in step
    assert all(1.0 <= p <= 9.0 for p in pauses)


def test_spark_literals_escape_quotes_and_backslashes() -> None:
    from sagaz_dbt.engines.spark import spark_identifier, spark_string
    from sagaz_dbt.errors import WarehouseError

    assert spark_string("it's a \\ test") == "'it\\'s a \\\\ test'"
    assert spark_identifier("we`ird") == "`we``ird`"
    with pytest.raises(WarehouseError):
        spark_string("nul\x00byte")
