"""Many writers in one process (a worker's activity threads) on one SQLite file."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from switchboard.store.engine import create_store_engine, write_transaction

THREADS, WRITES = 16, 30


def test_a_processs_writers_all_get_their_turn_within_the_busy_timeout(tmp_path: Path) -> None:
    """Sixteen threads writing back to back, each holding the lock a few milliseconds: every
    write lands, none waits out the two-second busy timeout ("database is locked").

    With SQLite's own busy handler alone (it sleeps and retries, first come not first served)
    a few writers of every such run here starved past the timeout while others took turns."""
    engine = create_store_engine(f"sqlite:///{tmp_path / 'x.db'}", busy_timeout_s=2.0)
    with write_transaction(engine) as conn:
        conn.exec_driver_sql("CREATE TABLE written (thread INTEGER, n INTEGER)")

    def write(thread: int) -> float:
        longest = 0.0
        for n in range(WRITES):
            asked = time.monotonic()
            with write_transaction(engine) as conn:
                longest = max(longest, time.monotonic() - asked)
                conn.exec_driver_sql("INSERT INTO written VALUES (?, ?)", (thread, n))
                time.sleep(0.004)  # the rest of a transaction: other rows, reads, the commit
        return longest

    with ThreadPoolExecutor(THREADS) as pool:
        longest = max(pool.map(write, range(THREADS)))
    with engine.connect() as conn:
        written = conn.exec_driver_sql("SELECT COUNT(*) FROM written").scalar_one()
    engine.dispose()
    assert written == THREADS * WRITES
    print(f"\nlongest wait for the write lock: {longest * 1000:.0f} ms")
