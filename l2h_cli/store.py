"""Rows grouped by their argmax cluster, so the merge loop can re-read one group's points.

Held in memory when they fit the budget, otherwise spilled to an unnamed temporary file that
the operating system removes when it is closed or the process dies.
"""

from __future__ import annotations

import os
import tempfile
from typing import Iterator, Sequence

import numpy as np


class ClusterStore:
    def __init__(self, n_clusters: int, n_cols: int, dtype: np.dtype, spill: bool,
                 tmpdir: str | None = None) -> None:
        self.n_clusters = n_clusters
        self.n_cols = n_cols
        self.dtype = np.dtype(dtype)
        self.spilled = spill
        self._row_bytes = n_cols * self.dtype.itemsize
        # Per cluster: (block index or byte offset, first row, row count) of each segment.
        self._segments: list[list[tuple[int, int, int]]] = [[] for _ in range(n_clusters)]
        self._blocks: list[np.ndarray] = []
        self._file = tempfile.TemporaryFile(prefix="l2h-spill-", dir=tmpdir) if spill else None
        self._end = 0

    def add(self, rows: np.ndarray, labels: np.ndarray) -> None:
        order = np.argsort(labels, kind="stable")
        grouped = np.ascontiguousarray(rows[order], dtype=self.dtype)
        counts = np.bincount(labels, minlength=self.n_clusters)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        if self._file is not None:
            where = self._end
            self._file.write(memoryview(grouped.reshape(-1).view(np.uint8)))
            self._end += grouped.nbytes
            for c in np.flatnonzero(counts):
                self._segments[c].append((where + int(starts[c]) * self._row_bytes, 0,
                                          int(counts[c])))
        else:
            b = len(self._blocks)
            self._blocks.append(grouped)
            for c in np.flatnonzero(counts):
                self._segments[c].append((b, int(starts[c]), int(counts[c])))

    def count(self, clusters: Sequence[int]) -> int:
        return sum(seg[2] for c in clusters for seg in self._segments[c])

    def rows(self, clusters: Sequence[int], max_rows: int) -> Iterator[np.ndarray]:
        """The rows of every point whose argmax is in `clusters`, in blocks of <= max_rows."""
        if self._file is not None:
            self._file.flush()
        pieces: list[tuple[int, int, int]] = []
        filled = 0
        for c in clusters:
            for where, first, n in self._segments[c]:
                while n:
                    take = min(n, max_rows - filled)
                    pieces.append((where, first, take))
                    filled += take
                    n -= take
                    if self._file is not None:
                        where += take * self._row_bytes
                    else:
                        first += take
                    if filled == max_rows:
                        yield self._gather(pieces, filled)
                        pieces, filled = [], 0
        if filled:
            yield self._gather(pieces, filled)

    def _gather(self, pieces: list[tuple[int, int, int]], total: int) -> np.ndarray:
        if self._file is None:
            if len(pieces) == 1:
                b, first, n = pieces[0]
                return self._blocks[b][first:first + n]
            return np.concatenate([self._blocks[b][first:first + n] for b, first, n in pieces])
        out = np.empty((total, self.n_cols), dtype=self.dtype)
        flat = memoryview(out.reshape(-1).view(np.uint8))
        fd = self._file.fileno()
        pos = 0
        for where, _, n in pieces:
            size = n * self._row_bytes
            got = 0
            while got < size:
                got += os.preadv(fd, [flat[pos + got:pos + size]], where + got)
            pos += size
        return out

    def close(self) -> None:
        self._blocks.clear()
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> "ClusterStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
