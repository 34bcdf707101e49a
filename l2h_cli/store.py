"""The rows of the matrix, so the merge loop can re-read the points of one group.

Three places hold them, behind one interface: an array in memory (when it fits half the
budget), the input `.npy` itself, or an unnamed temporary copy that the operating system
removes when it is closed or the process dies. The latter two are read through a memory map
that is told to drop its pages after every gather (MADV_DONTNEED): the page cache keeps them,
the process's RSS does not.

Points come back grouped by cluster, in the order of the clusters asked for and by row
index within a cluster, so every place gives the same blocks and the same sums.
"""

from __future__ import annotations

import mmap
import tempfile
from typing import Iterator, Sequence

import numpy as np

#: Groups with at least twice this many points are split in two or more blocks, so both
#: worker threads get work even when a group is small.
MIN_SPLIT_ROWS = 256


class RowStore:
    def __init__(self, n_rows: int, n_cols: int, dtype: np.dtype, where: str,
                 source: tuple[str, int] | None = None, tmpdir: str | None = None) -> None:
        if where not in ("memory", "file", "spill"):
            raise ValueError(f"unknown store {where!r}")
        self.n_rows, self.n_cols = n_rows, n_cols
        self.dtype = np.dtype(dtype)
        self.where = where
        self._labels: list[np.ndarray] = []
        self._index: list[np.ndarray] | None = None
        self._filled = 0
        self._mmap: mmap.mmap | None = None
        self._file = None
        self._source = source
        self._matrix: np.ndarray | None = None
        if where == "memory":
            self._matrix = np.empty((n_rows, n_cols), dtype=self.dtype)
        elif where == "spill":
            self._file = tempfile.TemporaryFile(prefix="l2h-spill-", dir=tmpdir)

    @property
    def spilled(self) -> bool:
        return self.where == "spill"

    def add(self, rows: np.ndarray, labels: np.ndarray) -> None:
        m = len(rows)
        if self.where == "memory":
            self._matrix[self._filled:self._filled + m] = rows
        elif self.where == "spill":
            block = np.ascontiguousarray(rows, dtype=self.dtype)
            self._file.write(memoryview(block.reshape(-1).view(np.uint8)))
        self._filled += m
        self._labels.append(np.asarray(labels, dtype=np.int32))

    def _finish(self) -> None:
        labels = np.concatenate(self._labels) if self._labels else np.empty(0, np.int32)
        self._labels = []
        order = np.argsort(labels, kind="stable")
        counts = np.bincount(labels, minlength=self.n_cols)
        self._index = np.split(order, np.cumsum(counts)[:-1])
        if self.where == "memory":
            return
        if self.where == "spill":
            self._file.flush()
            fileno, offset, dtype = self._file.fileno(), 0, self.dtype
        else:
            fh = open(self._source[0], "rb")
            self._file = fh
            fileno, offset = fh.fileno(), self._source[1]
        self._mmap = mmap.mmap(fileno, 0, access=mmap.ACCESS_READ)
        self._matrix = np.frombuffer(self._mmap, dtype=self.dtype, count=self.n_rows *
                                     self.n_cols, offset=offset).reshape(self.n_rows, self.n_cols)

    def count(self, clusters: Sequence[int]) -> int:
        if self._index is None:
            self._finish()
        return sum(len(self._index[c]) for c in clusters)

    def rows(self, clusters: Sequence[int], max_rows: int) -> Iterator[np.ndarray]:
        """The rows of every point whose argmax is in `clusters`, in blocks of <= max_rows."""
        if self._index is None:
            self._finish()
        points = np.concatenate([self._index[c] for c in clusters]) if len(clusters) else \
            np.empty(0, np.int64)
        step = min(max_rows, max(MIN_SPLIT_ROWS, -(-len(points) // 2)))
        for start in range(0, len(points), step):
            block = self._matrix[points[start:start + step]]
            if self._mmap is not None:
                self._mmap.madvise(mmap.MADV_DONTNEED)
            yield block if block.dtype.isnative else block.astype(block.dtype.newbyteorder("="))

    def close(self) -> None:
        self._matrix = None
        if self._mmap is not None:
            self._mmap.close()
            self._mmap = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> "RowStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
