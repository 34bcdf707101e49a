"""The rows of the matrix, so the merge loop can re-read the points of one group.

Three places to hold them (`mode`):
- "memory": in a matrix, when they fit half the budget.
- "source": not held at all; read back by position from the input file when it stores rows
  plainly (rawio), one read per run of consecutive rows. Writing a copy costs a fresh page per
  4 KiB, which on the machines measured took longer than all the reads it saves.
- "spill": copied to an unnamed temporary file (removed by the operating system when closed or
  when the process dies) in runs: a run is a staging buffer of rows sorted by cluster, so the
  points of a cluster are a few contiguous segments, read back with explicit reads. Used for
  streams and formats without plain rows (Parquet, compressed or chunked HDF5). Memory maps are
  avoided throughout: mapped pages count in the RSS.

Points come back grouped by cluster, in the order of the clusters asked for and by row index
within a cluster, wherever they are held, so every input gives the same blocks and sums.
`rows` yields loaders, functions that read one block when called, so the reading happens on the
worker threads next to the arithmetic.
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterator, Sequence

import numpy as np

from .rawio import RawRows, RowReader

#: Groups with at least twice this many points are split in two or more blocks, so both
#: worker threads get work even when a group is small.
MIN_SPLIT_ROWS = 256

MODES = ("memory", "source", "spill")

Loader = Callable[[], np.ndarray]


class RowStore:
    def __init__(self, n_rows: int, n_cols: int, dtype: np.dtype, mode: str,
                 run_bytes: int = 128 * 2**20, tmpdir: str | None = None,
                 source: RawRows | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.n_rows, self.n_cols = n_rows, n_cols
        self.dtype = np.dtype(dtype)
        self.mode = mode
        self.spilled = mode == "spill"
        self._row_bytes = n_cols * self.dtype.itemsize
        self._labels: list[np.ndarray] = []
        self._index: list[np.ndarray] | None = None
        self._filled = 0
        self._matrix = self._source = self._file = None
        if mode == "memory":
            self._matrix = np.empty((n_rows, n_cols), dtype=self.dtype)
            return
        if mode == "source":
            if source is None or source.dtype != self.dtype or source.n_cols != n_cols:
                raise ValueError("mode 'source' needs the raw layout of the input's rows")
            self._source = RowReader(source)
            return
        self._file = tempfile.TemporaryFile(prefix="l2h-spill-", dir=tmpdir)
        self._run_rows = max(1, run_bytes // self._row_bytes)
        # Two staging buffers: one fills while the other is written by a background thread.
        self._stage = [np.empty((min(self._run_rows, n_rows), n_cols), dtype=self.dtype)
                       for _ in range(2)]
        self._stage_labels = np.empty(self._run_rows, dtype=np.int32)
        self._current, self._staged = 0, 0
        self._writer = ThreadPoolExecutor(1)
        self._pending: Future | None = None
        self._end = 0
        # Per cluster: list of (byte offset, rows) segments, one per run that holds it.
        self._segments: list[list[tuple[int, int]]] = [[] for _ in range(n_cols)]

    def add(self, rows: np.ndarray, labels: np.ndarray) -> None:
        labels = np.asarray(labels, dtype=np.int32)
        self._labels.append(labels)
        if self._matrix is not None:
            self._matrix[self._filled:self._filled + len(rows)] = rows
            self._filled += len(rows)
        if not self.spilled:
            return
        done = 0
        while done < len(rows):
            take = min(len(rows) - done, self._run_rows - self._staged)
            stage = self._stage[self._current]
            stage[self._staged:self._staged + take] = rows[done:done + take]
            self._stage_labels[self._staged:self._staged + take] = labels[done:done + take]
            self._staged += take
            done += take
            if self._staged == self._run_rows:
                self._flush_run()

    def _flush_run(self) -> None:
        if not self._staged:
            return
        m = self._staged
        labels = self._stage_labels[:m]
        order = np.argsort(labels, kind="stable")
        counts = np.bincount(labels, minlength=self.n_cols)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        for c in np.flatnonzero(counts):
            self._segments[c].append((self._end + int(starts[c]) * self._row_bytes,
                                      int(counts[c])))
        if self._pending is not None:
            self._pending.result()  # the other buffer is free again
        stage = self._stage[self._current]
        grouped = stage[:m][order]
        self._pending = self._writer.submit(self._write, grouped)
        self._end += grouped.nbytes
        self._current, self._staged = 1 - self._current, 0

    def _write(self, grouped: np.ndarray) -> None:
        self._file.write(memoryview(grouped.reshape(-1).view(np.uint8)))

    def labels(self) -> np.ndarray:
        """The argmax cluster of every row added, in input order."""
        if len(self._labels) != 1:
            self._labels = [np.concatenate(self._labels) if self._labels
                            else np.empty(0, np.int32)]
        return self._labels[0]

    def _finish(self) -> None:
        labels = self.labels()
        if not self.spilled:
            order = np.argsort(labels, kind="stable")
            counts = np.bincount(labels, minlength=self.n_cols)
            self._index = np.split(order, np.cumsum(counts)[:-1])
            return
        self._flush_run()
        if self._pending is not None:
            self._pending.result()
        self._file.flush()
        self._stage = []
        self._index = []

    def count(self, clusters: Sequence[int]) -> int:
        if self._index is None:
            self._finish()
        if self.spilled:
            return sum(n for c in clusters for _, n in self._segments[c])
        return sum(len(self._index[c]) for c in clusters)

    def rows(self, clusters: Sequence[int], max_rows: int) -> Iterator[Loader]:
        """Loaders of the rows of every point whose argmax is in `clusters`, in blocks of
        at most max_rows."""
        if self._index is None:
            self._finish()
        total = self.count(clusters)
        step = min(max_rows, max(MIN_SPLIT_ROWS, -(-total // 2)))
        if self.spilled:
            for pieces in self._plan_segments(clusters, step):
                yield lambda pieces=pieces: self._read_pieces(pieces)
            return
        points = np.concatenate([self._index[c] for c in clusters]) if len(clusters) \
            else np.empty(0, np.int64)
        read = self._source.read if self._source is not None else self._matrix.__getitem__
        for start in range(0, len(points), step):
            yield lambda part=points[start:start + step]: read(part)

    def _plan_segments(self, clusters: Sequence[int], step: int
                       ) -> Iterator[list[tuple[int, int]]]:
        """Blocks of at most `step` rows, each as (byte offset, rows) pieces of the spill."""
        pieces: list[tuple[int, int]] = []
        filled = 0
        for c in clusters:
            for offset, n in self._segments[c]:
                while n:
                    take = min(n, step - filled)
                    pieces.append((offset, take))
                    filled += take
                    offset += take * self._row_bytes
                    n -= take
                    if filled == step:
                        yield pieces
                        pieces, filled = [], 0
        if pieces:
            yield pieces

    def _read_pieces(self, pieces: list[tuple[int, int]]) -> np.ndarray:
        fd = self._file.fileno()
        block = np.empty((sum(n for _, n in pieces), self.n_cols), dtype=self.dtype)
        flat = memoryview(block.reshape(-1).view(np.uint8))
        pos = 0
        for offset, n in pieces:
            size = n * self._row_bytes
            got = 0
            while got < size:
                got += os.preadv(fd, [flat[pos + got:pos + size]], offset + got)
            pos += size
        return block

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
        if self.spilled:
            if self._pending is not None:
                self._pending.cancel()
            self._writer.shutdown(wait=True)
            if self._file is not None:
                self._file.close()
                self._file = None
        self._matrix = None

    def __enter__(self) -> "RowStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
