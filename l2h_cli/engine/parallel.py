"""Run a function over a stream of blocks on worker threads, keeping results in order.

NumPy releases the GIL in its array kernels, so two threads use both cores; the ordered results
keep floating-point sums identical from run to run.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


class BlockPool:
    """A small pool of worker threads; `map` yields results in submission order."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        self._executor = ThreadPoolExecutor(self.workers) if self.workers > 1 else None

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        if self._executor is None:
            yield from map(fn, items)
            return
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(self._executor.submit(fn, item))
                if len(pending) > self.workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for fut in pending:
                fut.cancel()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "BlockPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
