"""A small process supervisor: a child that exits is restarted with backoff, the others run on.

`switchboard up` is the default way to run Switchboard, so one crashed process must not take
the webhooks down with it: a provider that cannot connect does not always retry.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 30.0
# A child that ran this long before exiting was healthy: its next restart starts from 1 s again.
STABLE_AFTER_S = 60.0
# This many quick exits in a row is a crash loop: still retried, but said loudly.
CRASH_LOOP_AFTER = 5


_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def _die_with_parent(parent: int) -> None:
    """In the child, before exec: SIGTERM when `up` dies, even by SIGKILL.

    The children run in sessions of their own (so that Ctrl-C reaches `up` alone), so nothing
    else would stop them; a `switchboard up` killed outright would leave them holding the
    ports and the data directory, and the next `make run` could not start. Only a call into
    libc here: this runs between fork and exec.
    """
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # `up` died before the call: nobody would send the signal
        os._exit(1)


def restart_delay(quick_exits: int) -> float:
    """The wait before the next start after `quick_exits` exits in a row (1 s, 2 s, 4 s … 30 s)."""
    return min(FIRST_DELAY_S * 2 ** max(quick_exits - 1, 0), MAX_DELAY_S)


@dataclass
class Child:
    """One supervised process, how to start it and how to tell that it serves."""

    name: str
    argv: list[str]
    env: dict[str, str]
    ready: Callable[[], bool] | None = None
    # File descriptors the child inherits (the ingress's listening socket).
    pass_fds: tuple[int, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    quick_exits: int = 0
    restarts: int = 0
    restart_at: float | None = None
    # What the supervisor observed, for the uptime figure: seconds up and down since `up` began.
    up_s: float = 0.0
    down_s: float = 0.0
    last_exit_code: int | None = None

    def start(self) -> None:
        # A session of its own: the terminal's Ctrl-C reaches only `up`, which then stops the
        # children in order instead of all at once.
        # Started from `up`'s main thread only: the parent-death signal follows the thread
        # that forked, not the process.
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            start_new_session=True,
            pass_fds=self.pass_fds,
            preexec_fn=functools.partial(_die_with_parent, os.getpid()),
        )
        self.started_at = time.monotonic()
        self.restart_at = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    """Keeps its children running until `stop()`; children stop in reverse start order."""

    def __init__(self, console: Console, status_file: Path | None = None) -> None:
        self.console = console
        self.status_file = status_file
        self.children: dict[str, Child] = {}
        self.began = time.monotonic()
        self.began_at = datetime.now(UTC)
        self._last_tick = self.began
        self._written_at = 0.0

    def add(self, child: Child) -> Child:
        self.children[child.name] = child
        child.start()
        return child

    def tick(self) -> None:
        """Notice exits, schedule and run restarts, account uptime; call it every fraction of
        a second."""
        now = time.monotonic()
        elapsed, self._last_tick = now - self._last_tick, now
        changed = False
        for child in self.children.values():
            if child.running:
                child.up_s += elapsed
                continue
            child.down_s += elapsed
            if child.restart_at is None:
                self._exited(child, now)
                changed = True
            elif now >= child.restart_at:
                changed = True
                child.restarts += 1
                child.start()
                self.console.print(f"{child.name} restarted (restart {child.restarts})")
                if child.ready is not None:
                    threading.Thread(target=self._announce_back, args=(child,), daemon=True).start()
        # At once when a child exits or restarts, else every few seconds for the uptime figures.
        if changed or now - self._written_at >= 5:
            self._write_status()
            self._written_at = now

    def _exited(self, child: Child, now: float) -> None:
        assert child.process is not None
        code = child.process.returncode
        child.last_exit_code = code
        ran_s = now - child.started_at
        child.quick_exits = 1 if ran_s >= STABLE_AFTER_S else child.quick_exits + 1
        delay = restart_delay(child.quick_exits)
        child.restart_at = now + delay
        self.console.print(
            f"[red]{child.name} exited with code {code} after {ran_s:.1f}s; "
            f"restarting in {delay:.1f}s[/]"
        )
        if child.quick_exits >= CRASH_LOOP_AFTER:
            self.console.print(
                f"[bold red]CRASH LOOP: {child.name} exited {child.quick_exits} times in a row "
                f"within {STABLE_AFTER_S:.0f}s of starting; still retrying every "
                f"{delay:.0f}s — see its output above[/]"
            )

    def _announce_back(self, child: Child) -> None:
        started = child.started_at
        process = child.process
        while process is not None and process.poll() is None and child.process is process:
            if child.ready is not None and child.ready():
                waited = time.monotonic() - started
                self.console.print(f"[green]{child.name} is back ({waited:.1f}s after restart)[/]")
                return
            time.sleep(0.25)

    def status(self) -> dict[str, object]:
        """Per service: up or not, restarts, last exit code, and the share of time it was up."""
        services = {}
        for child in self.children.values():
            total = child.up_s + child.down_s
            services[child.name] = {
                "running": child.running,
                "restarts": child.restarts,
                "last_exit_code": child.last_exit_code,
                "up_s": round(child.up_s, 1),
                "down_s": round(child.down_s, 1),
                "uptime": round(child.up_s / total, 5) if total else 1.0,
            }
        return {
            "since": self.began_at.isoformat(),
            "observed_at": datetime.now(UTC).isoformat(),
            "services": services,
        }

    def _write_status(self) -> None:
        if self.status_file is None:
            return
        # Written whole then renamed, so a reader (the Pipeline page) never sees half a file.
        partial = self.status_file.with_suffix(".partial")
        partial.write_text(json.dumps(self.status(), indent=1))
        partial.replace(self.status_file)

    def stop(self, timeout_s: float = 15) -> None:
        """Stop every child, the last started first, each with SIGTERM then SIGKILL."""
        for child in reversed(self.children.values()):
            child.restart_at = float("inf")
            process = child.process
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._write_status()
