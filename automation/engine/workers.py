"""Where actions are performed: a bounded pool of worker threads, or the caller's thread.

The dispatcher hands a job (a function and the id it belongs to) to ``submit`` and later
``take``s what finished, on its own thread, which is the only one that touches the store.
A job's outcome is its return value or the exception it raised; jobs never touch shared
state, so the pool needs no more than two queues.

Workers are daemon threads on purpose: a receiver that never answers must not hold the
process at exit (``concurrent.futures`` joins its threads at interpreter exit, so one hung
request would delay a SIGTERM by a whole timeout). What a stopped engine abandons was
never recorded and stays in the outbox with its idempotency key.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Finished", "InlineWorkers", "ThreadWorkers", "Workers"]


@dataclass(frozen=True)
class Finished:
    """What one job came to: ``detail`` when it returned, ``error`` when it raised."""

    job_id: str
    detail: str = ""
    error: BaseException | None = None


class Workers(Protocol):
    """Runs jobs and hands back what finished."""

    size: int
    synchronous: bool  # True when a job is done by the time submit returns

    def submit(self, job_id: str, job: Callable[[], str]) -> None: ...

    def take(self, timeout: float) -> list[Finished]:
        """Everything finished so far, waiting up to ``timeout`` seconds for the first."""
        ...

    def close(self) -> None:
        """Start nothing more; jobs still running are abandoned."""
        ...


def _run(job_id: str, job: Callable[[], str]) -> Finished:
    try:
        return Finished(job_id, detail=job())
    except Exception as exc:  # reported to the dispatcher, which records it
        return Finished(job_id, error=exc)


class ThreadWorkers:
    """``size`` daemon threads, started on first use."""

    def __init__(self, size: int, *, name: str = "action") -> None:
        if size < 1:
            raise ValueError("a worker pool needs at least one thread")
        self.size = size
        self.synchronous = False
        self._name = name
        self._jobs: queue.SimpleQueue[tuple[str, Callable[[], str]] | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[Finished] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(self, job_id: str, job: Callable[[], str]) -> None:
        if self._closed:
            raise RuntimeError("the worker pool is closed")
        if len(self._threads) < self.size:
            thread = threading.Thread(
                target=self._work, name=f"{self._name}-{len(self._threads) + 1}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        self._jobs.put((job_id, job))

    def _work(self) -> None:
        while (task := self._jobs.get()) is not None:
            try:
                finished = _run(*task)
            except BaseException as exc:  # even this must reach the dispatcher
                finished = Finished(task[0], error=exc)
            self._done.put(finished)

    def take(self, timeout: float) -> list[Finished]:
        out: list[Finished] = []
        try:
            out.append(self._done.get(timeout=max(0.0, timeout)))
        except queue.Empty:
            return out
        while True:
            try:
                out.append(self._done.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            for _ in self._threads:
                self._jobs.put(None)


class InlineWorkers:
    """Performs each job as it is submitted, on the caller's thread: for rule tests and
    anything else that wants every action done before ``submit`` returns."""

    size = 1
    synchronous = True

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self._done: list[Finished] = []
        self._sleep = sleep

    def submit(self, job_id: str, job: Callable[[], str]) -> None:
        self._done.append(_run(job_id, job))

    def take(self, timeout: float) -> list[Finished]:
        out, self._done = self._done, []
        if not out:
            self._sleep(timeout)  # nothing runs meanwhile: waiting is all there is to do
        return out

    def close(self) -> None:
        self._done = []
