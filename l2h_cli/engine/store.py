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
The store hands out blocks of row indices; `rows` (the matrix, or a RowReader over the file
that holds them) is what kernels.restricted_mass reads them from, on the worker threads.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Iterator, Sequence

import numpy as np

from ..readers.rawio import RawRows, RowReader, take_rows

#: Groups with at least twice this many points are split in two or more blocks, so both
#: worker threads get work even when a group is small.
MIN_SPLIT_ROWS = 256

MODES = ("memory", "source", "spill")


class RowStore:
    def __init__(self, n_rows: int, n_cols: int, dtype: np.dtype, mode: str,
                 run_bytes: int = 128 * 2**20, tmpdir: str | None = None,
                 source: RawRows | None = None, n_clusters: int | None = None) -> None:
        """A row is `n_cols` items of `dtype` (one record for a sparse row); the labels added
        run over `n_clusters` clusters (default n_cols)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.n_rows, self.n_cols = n_rows, n_cols
        self.n_clusters = n_cols if n_clusters is None else n_clusters
        self.dtype = np.dtype(dtype)
        self.mode = mode
        self._labels: list[np.ndarray] = []
        self._index: list[np.ndarray] | None = None
        self._filled = 0
        self.rows: np.ndarray | RowReader | None = None
        self._file = None
        if mode == "memory":
            self.rows = np.empty((n_rows, n_cols), dtype=self.dtype)
            return
        if mode == "source":
            if source is None or source.dtype != self.dtype or source.n_cols != n_cols:
                raise ValueError("mode 'source' needs the raw layout of the input's rows")
            self.rows = RowReader.open(source)
            return
        self._file = tempfile.TemporaryFile(prefix="l2h-spill-", dir=tmpdir)
        self._run_rows = max(1, run_bytes // (n_cols * self.dtype.itemsize))
        # Two staging buffers: one fills while the other is written by a background thread.
        self._stage = [np.empty((min(self._run_rows, n_rows), n_cols), dtype=self.dtype)
                       for _ in range(2)]
        self._stage_labels = np.empty(self._run_rows, dtype=np.int32)
        self._current, self._staged = 0, 0
        self._writer = ThreadPoolExecutor(1)
        self._pending: Future | None = None
        # Where each input row went in the spill file (in rows).
        self._positions = np.empty(n_rows, dtype=np.int64)

    def add(self, rows: np.ndarray, labels: np.ndarray) -> None:
        labels = np.asarray(labels, dtype=np.int32)
        self._labels.append(labels)
        if self.mode == "memory":
            self.rows[self._filled:self._filled + len(rows)] = rows
        elif self.mode == "spill":
            done = 0
            while done < len(rows):
                take = min(len(rows) - done, self._run_rows - self._staged)
                stage = self._stage[self._current]
                stage[self._staged:self._staged + take] = rows[done:done + take]
                self._stage_labels[self._staged:self._staged + take] = labels[done:done + take]
                self._staged += take
                done += take
                if self._staged == self._run_rows:
                    self._flush_run(self._filled + done - self._staged)
        self._filled += len(rows)

    def _flush_run(self, first_row: int) -> None:
        """Write the staged rows (input rows first_row...) sorted by cluster, so the points of
        a cluster are contiguous in each run."""
        if not self._staged:
            return
        m = self._staged
        order = np.argsort(self._stage_labels[:m], kind="stable")
        # Runs are written in input order, so this run starts at spill row `first_row`.
        self._positions[first_row + order] = first_row + np.arange(m)
        if self._pending is not None:
            self._pending.result()  # the other buffer is free again
        grouped = self._stage[self._current][:m][order]
        self._pending = self._writer.submit(self._write, grouped)
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
        order = np.argsort(labels, kind="stable")
        counts = np.bincount(labels, minlength=self.n_clusters)
        self._index = np.split(order, np.cumsum(counts)[:-1])
        if self.mode == "spill":
            self._flush_run(self._filled - self._staged)
            if self._pending is not None:
                self._pending.result()
            self._file.flush()
            self._stage = []
            self.rows = RowReader(self._file.fileno(), 0, self.dtype, self.n_cols,
                                  "the spill file", positions=self._positions)

    def rows_ready(self) -> np.ndarray | RowReader:
        """`rows`, once every row has been added."""
        if self._index is None:
            self._finish()
        return self.rows

    def points(self, clusters: Sequence[int]) -> np.ndarray:
        """Indices of every point whose argmax is in `clusters`, by cluster in that order and
        by index within a cluster."""
        self.rows_ready()
        if len(clusters) == 1:
            return self._index[clusters[0]]
        return np.concatenate([self._index[c] for c in clusters]) if len(clusters) \
            else np.empty(0, np.int64)

    def blocks(self, clusters: Sequence[int], max_rows: int) -> Iterator[np.ndarray]:
        """`points(clusters)` in blocks of at most max_rows."""
        points = self.points(clusters)
        step = min(max_rows, max(MIN_SPLIT_ROWS, -(-len(points) // 2)))
        for start in range(0, len(points), step):
            yield points[start:start + step]

    def read(self, points: np.ndarray) -> np.ndarray:
        """The rows of these points, as an array."""
        return take_rows(self.rows_ready(), points)

    def close(self) -> None:
        if isinstance(self.rows, RowReader):
            self.rows.close()
        if self.mode == "spill":
            if self._pending is not None:
                self._pending.cancel()
            self._writer.shutdown(wait=True)
            if self._file is not None:
                self._file.close()
                self._file = None
        self.rows = None

    def __enter__(self) -> "RowStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
