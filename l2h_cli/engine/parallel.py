"""Run a function over a stream of blocks on worker threads, keeping results in order.

NumPy releases the GIL in its array kernels, so two threads use both cores; the ordered results
keep floating-point sums identical from run to run.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

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

    def run(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """[fn(item) for item in items], the first on the calling thread while the workers
        take the others: for work too short to wait for a hand-off."""
        if self._executor is None or len(items) < 2:
            return [fn(item) for item in items]
        futures = [self._executor.submit(fn, item) for item in items[1:]]
        try:
            first = fn(items[0])
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
        return [first, *(fut.result() for fut in futures)]

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "BlockPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
