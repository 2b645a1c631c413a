"""Concurrent requests batched by key: one thread runs the model on jobs that share a key (the translation and the
padded size, so that they stack without resizing), up to ``max_batch`` at a time, oldest first."""

import queue
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

_STOP = object()


@dataclass
class _Job:
    key: Hashable
    item: Any
    future: Future = field(default_factory=Future)


@dataclass
class BatchStats:
    """What the batcher has run (``GET /health`` shows it): requests, batches, and the largest batch."""

    requests: int = 0
    batches: int = 0
    largest_batch: int = 0


class Batcher:
    """Runs ``run(key, items) -> results`` (one result per item, in order) on one thread for jobs of equal keys.

    A batch starts with the oldest waiting job and takes the later ones of its key; it waits at most ``max_wait_s``
    for more to arrive, and not at all once ``max_batch`` are there. Jobs of other keys wait for the next batch, so
    none waits behind more than the batches ahead of it. An exception from ``run`` fails that batch's jobs only.
    """

    def __init__(self, run: Callable[[Hashable, list], list], *, max_batch: int = 8, max_wait_s: float = 0.005):
        if max_batch < 1:
            raise ValueError(f"--max-batch must be >= 1, got {max_batch}")
        self.run, self.max_batch, self.max_wait_s = run, max_batch, max_wait_s
        self.stats = BatchStats()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._waiting: list[_Job] = []
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="translate-batcher", daemon=True)
        self._thread.start()

    def submit(self, key: Hashable, item: Any) -> Future:
        """Queue ``item``; the future gives its result (or raises what ``run`` raised for its batch)."""
        job = _Job(key, item)
        self._queue.put(job)
        return job.future

    def close(self) -> None:
        """Finish the batches already queued, then stop the thread."""
        self._queue.put(_STOP)
        self._thread.join()

    def _loop(self) -> None:
        while not (self._stopped and not self._waiting):
            if not self._waiting and not self._take(block=True):
                continue
            batch = self._collect()
            self._run(batch)

    def _take(self, block: bool, timeout: float | None = None) -> bool:
        """Move one queued job to the waiting list; False when none came (or the stop sign did)."""
        try:
            job = self._queue.get(block=block, timeout=timeout)
        except queue.Empty:
            return False
        if job is _STOP:
            self._stopped = True
            return False
        self._waiting.append(job)
        return True

    def _collect(self) -> list[_Job]:
        """The oldest waiting job and those of its key, after waiting up to max_wait_s for the batch to fill."""
        key = self._waiting[0].key
        deadline = time.monotonic() + self.max_wait_s
        while not self._stopped and sum(job.key == key for job in self._waiting) < self.max_batch:
            left = deadline - time.monotonic()
            arrived = self._take(block=True, timeout=left) if left > 0 else self._take(block=False)
            if not arrived:  # none came in time (past the deadline: none is queued)
                break
        batch = [job for job in self._waiting if job.key == key][: self.max_batch]
        self._waiting = [job for job in self._waiting if all(job is not taken for taken in batch)]
        return batch

    def _run(self, batch: list[_Job]) -> None:
        self.stats.requests += len(batch)
        self.stats.batches += 1
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        try:
            results = self.run(batch[0].key, [job.item for job in batch])
        except Exception as error:  # noqa: BLE001 (handed to the requests that were in the batch)
            for job in batch:
                job.future.set_exception(error)
            return
        for job, result in zip(batch, results, strict=True):
            job.future.set_result(result)
