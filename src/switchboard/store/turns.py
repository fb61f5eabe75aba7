"""A lock that threads take in the order they asked for it."""

from __future__ import annotations

import threading
from collections import deque


class Turns:
    """Mutual exclusion, first come first served, with a bounded wait.

    `threading.Lock` lets a releasing thread take the lock straight back while others wait;
    here a release hands the lock to the longest waiter, so nobody's wait exceeds the holds of
    those ahead of it.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiting: deque[threading.Event] = deque()
        self._held = False

    def acquire(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for the turn; whether it came."""
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(timeout_s):
            return True
        with self._mutex:
            if turn.is_set():  # handed over just as the wait ran out
                return True
            self._waiting.remove(turn)
            return False

    def release(self) -> None:
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().set()  # still held: now by the next in line
            else:
                self._held = False
