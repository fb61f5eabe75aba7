"""Peak RSS and CPU seconds of the processes of a system under measurement, by role."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import psutil

from runtime.benchmark.stack import Stack


def _role(process: psutil.Process) -> str | None:
    command = " ".join(process.cmdline())
    if "start-dev" in command:
        return "temporal"
    # The export and retention's worker (`switchboard worker --role analytics`), apart from
    # the intake workers that the burst is about.
    if "--role analytics" in command:
        return "analytics"
    for role in ("worker", "ingress"):
        # `up` passes the ingress its listening socket: `switchboard ingress --fd 3`.
        if f"switchboard {role}" in command:
            return role
    return None


def stack_processes(stack: Stack) -> dict[str, list[psutil.Process]]:
    """The processes of `switchboard up`: Temporal, the worker(s), the ingress, the analytics
    worker."""
    found: dict[str, list[psutil.Process]] = {}
    for child in psutil.Process(stack.pid).children(recursive=True):
        role = _role(child)
        if role:
            found.setdefault(role, []).append(child)
    return found


@dataclass
class Sampler:
    """Peak RSS and CPU seconds of each role while it runs (a role's processes summed)."""

    processes: dict[str, list[psutil.Process]]
    peak_rss: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def of(cls, stack: Stack) -> Sampler:
        return cls(stack_processes(stack))

    def _cpu(self) -> dict[str, float]:
        return {r: sum(sum(p.cpu_times()[:2]) for p in ps) for r, ps in self.processes.items()}

    def __enter__(self) -> Sampler:
        self._start = self._cpu()
        threading.Thread(target=self._sample, daemon=True).start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            for role, processes in self.processes.items():
                rss = sum(p.memory_info().rss for p in processes)
                self.peak_rss[role] = max(self.peak_rss.get(role, 0), rss)

    def peak_rss_mb(self) -> dict[str, int]:
        return {r: round(v / 2**20) for r, v in self.peak_rss.items()}

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        end = self._cpu()
        self.cpu = {r: end[r] - self._start[r] for r in end}
