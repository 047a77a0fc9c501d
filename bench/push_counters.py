"""Replay protection of ciphered pushes on PostgreSQL: counter claims/s, next to one transaction a claim.

Run:  .venv/bin/python bench/push_counters.py [--meters 10000] [--in-flight 1 10 100 1000]

Creates a scratch database on postgresql://postgres@127.0.0.1:5432 (HES_BENCH_POSTGRES_DSN overrides),
migrates it, registers `--meters` meters, and claims one new invocation counter for each meter, round after
round: first the baseline, one transaction a claim (a conditional UPDATE and a commit, pushes in flight
sharing the connection pool); then PushCounterClaims, which settles the claims that arrive together in one
transaction, with as many claims in flight as `--in-flight` says (pushes being received at once). Prints
claims/s and this process's CPU per claim. Figures, not assertions; the database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

from scratch import scratch_database
from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.connectivity.push_counters import PushCounterClaims
from hes.db.engine import make_engine, make_session_factory
from hes.db.tables import Meter

Claim = Callable[[int, int], Awaitable[bool]]


def one_transaction_a_claim(sessions: async_sessionmaker[AsyncSession]) -> Claim:
    """The baseline: each claim its own conditional UPDATE and commit."""
    stored = Meter.dlms_push_counter

    async def claim(meter_id: int, counter: int) -> bool:
        async with sessions() as session:
            result = await session.execute(
                update(Meter)
                .where(Meter.id == meter_id, or_(stored.is_(None), stored < counter))
                .values(dlms_push_counter=counter, updated_at=Meter.updated_at)
            )
            await session.commit()
        return int(getattr(result, "rowcount", 0) or 0) == 1

    return claim


async def measure(claim: Claim, meters: int, in_flight: int, first_counter: int) -> tuple[float, float]:
    """Claims/s and CPU ms a claim over one round of every meter, `in_flight` claims at a time."""
    cpu, started = time.process_time(), time.perf_counter()
    for start in range(1, meters + 1, in_flight):
        answers = await asyncio.gather(
            *(claim(meter_id, first_counter) for meter_id in range(start, min(start + in_flight, meters + 1)))
        )
        assert all(answers), "a fresh counter was refused"
    elapsed = time.perf_counter() - started
    return meters / elapsed, (time.process_time() - cpu) * 1000 / meters


async def run(url: str, meters: int, in_flights: list[int]) -> None:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    async with sessions() as session:
        session.add_all(Meter(meter_number=f"PUSH-{number:07d}") for number in range(meters))
        await session.commit()
    claims = PushCounterClaims(sessions)
    counter = 0
    print(f"{meters:,} meters; each line claims a new counter for every meter, both ways; CPU is this process's")
    for in_flight in in_flights:
        counter += 1
        base_rate, base_cpu = await measure(one_transaction_a_claim(sessions), meters, in_flight, counter)
        counter += 1
        rate, cpu = await measure(claims.claim, meters, in_flight, counter)
        print(
            f"  {in_flight:>5} in flight: PushCounterClaims {rate:>9,.0f} claims/s ({cpu:.3f} ms CPU)   "
            f"baseline one transaction a claim {base_rate:>7,.0f} claims/s ({base_cpu:.3f} ms CPU)   "
            f"x{rate / base_rate:.1f}"
        )
    await claims.close()
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meters", type=int, default=10_000)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 10, 100, 1000])
    options = parser.parse_args()
    with scratch_database("push_counters") as database:
        asyncio.run(run(database.url, options.meters, options.in_flight))


if __name__ == "__main__":
    main()
