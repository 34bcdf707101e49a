"""Where the rows of the matrix are kept, so the merge loop can read the points of one group
again. Three row sources behind one interface (RowSource):

- MemoryRows: in a matrix, when they fit the budget.
- FileRows: not held at all; read back by position from the input file when it stores rows
  plainly (rawio), one read per run of consecutive rows. Writing a copy costs a fresh page per
  4 KiB, which on the machines measured took longer than all the reads it saves.
- SpillRows: copied to an unnamed temporary file (removed by the operating system when closed
  or when the process dies) in runs: a run is a staging buffer of rows sorted by cluster, so
  the points of a cluster are a few contiguous segments, read back with explicit reads. Used
  for streams and formats without plain rows (Parquet, compressed HDF5, shards, sparse files).
  Memory maps are avoided throughout: mapped pages count in the RSS.

Rows are added block by block during the first pass, then `finish()` is called once; after it,
`rows` is what the kernels read (a matrix, or a RowReader over the file that holds them) and
points come back grouped by cluster, in the order of the clusters asked for and by row index
within a cluster, wherever they are held, so every input gives the same blocks and sums.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Iterator, Sequence

import numpy as np

from ..readers.rawio import RawRows, RowReader, take_rows
from .kernels import gather_runs

#: Groups with at least twice this many bytes of rows are split in two or more blocks, so
#: both cores get work even when a group is small (256 rows at K = 1000, float32; 12 at
#: K = 21,843, where a row takes 20 us to read and use).
MIN_SPLIT_BYTES = 2**20


class ClusterIndex:
    """The points of each cluster, by row index, as one array and where each cluster starts
    in it."""

    def __init__(self, labels: np.ndarray, n_clusters: int) -> None:
        self.order = np.argsort(labels, kind="stable")
        self.starts = np.concatenate(([0], np.cumsum(np.bincount(labels,
                                                                 minlength=n_clusters))))

    def points(self, clusters: Sequence[int]) -> np.ndarray:
        """Indices of every point whose argmax is in `clusters`, by cluster in that order and
        by index within a cluster."""
        if len(clusters) == 1:
            c = int(clusters[0])
            return self.order[self.starts[c]:self.starts[c + 1]]
        return gather_runs(self.order, self.starts, np.asarray(clusters, dtype=np.int64))


class RowSource:
    """A row is `n_cols` items of `dtype` (one record for a sparse row); the labels added run
    over `n_clusters` clusters (default n_cols)."""

    name = ""

    def __init__(self, n_rows: int, n_cols: int, dtype: np.dtype,
                 n_clusters: int | None = None) -> None:
        self.n_rows, self.n_cols = n_rows, n_cols
        self.dtype = np.dtype(dtype)
        self.n_clusters = n_cols if n_clusters is None else n_clusters
        self.rows: np.ndarray | RowReader | None = None
        self._labels: list[np.ndarray] = []
        self._index: ClusterIndex | None = None
        self._filled = 0

    def add(self, rows: np.ndarray, labels: np.ndarray) -> None:
        """The next rows of the input, with their argmax clusters."""
        self._labels.append(np.asarray(labels, dtype=np.int32))
        self._keep(rows)
        self._filled += len(rows)

    def _keep(self, rows: np.ndarray) -> None:
        """Hold or write the rows just added (from row self._filled on)."""

    def finish(self) -> None:
        """After the last add: index the points by cluster and make `rows` readable."""
        self._index = ClusterIndex(self.labels(), self.n_clusters)

    def labels(self) -> np.ndarray:
        """The argmax cluster of every row added, in input order."""
        if len(self._labels) != 1:
            self._labels = [np.concatenate(self._labels) if self._labels
                            else np.empty(0, np.int32)]
        return self._labels[0]

    def points(self, clusters: Sequence[int]) -> np.ndarray:
        """Indices of every point whose argmax is in `clusters`, by cluster in that order and
        by index within a cluster."""
        if self._index is None:
            raise RuntimeError("finish() the row source before reading from it")
        return self._index.points(clusters)

    def blocks(self, clusters: Sequence[int], max_rows: int) -> Iterator[np.ndarray]:
        """`points(clusters)` in blocks of at most max_rows."""
        points = self.points(clusters)
        least = max(1, MIN_SPLIT_BYTES // (self.n_cols * self.dtype.itemsize))
        step = min(max_rows, max(least, -(-len(points) // 2)))
        for start in range(0, len(points), step):
            yield points[start:start + step]

    def read(self, points: np.ndarray) -> np.ndarray:
        """The rows of these points, as an array."""
        return take_rows(self.rows, points)

    def close(self) -> None:
        if isinstance(self.rows, RowReader):
            self.rows.close()
        self.rows = None

    def __enter__(self) -> "RowSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MemoryRows(RowSource):
    name = "memory"

    def __init__(self, n_rows: int, n_cols: int, dtype: np.dtype,
                 n_clusters: int | None = None) -> None:
        super().__init__(n_rows, n_cols, dtype, n_clusters)
        self.rows = np.empty((n_rows, n_cols), dtype=self.dtype)

    def _keep(self, rows: np.ndarray) -> None:
        self.rows[self._filled:self._filled + len(rows)] = rows


class FileRows(RowSource):
    name = "source"

    def __init__(self, n_rows: int, n_cols: int, dtype: np.dtype, source: RawRows,
                 n_clusters: int | None = None) -> None:
        if source.dtype != np.dtype(dtype) or source.n_cols != n_cols:
            raise ValueError("the input's raw rows do not have the layout of the rows")
        super().__init__(n_rows, n_cols, dtype, n_clusters)
        self.rows = RowReader.open(source)


class SpillRows(RowSource):
    name = "spill"

    def __init__(self, n_rows: int, n_cols: int, dtype: np.dtype,
                 run_bytes: int = 128 * 2**20, tmpdir: str | None = None,
                 n_clusters: int | None = None) -> None:
        super().__init__(n_rows, n_cols, dtype, n_clusters)
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

    def _keep(self, rows: np.ndarray) -> None:
        labels = self._labels[-1]
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

    def finish(self) -> None:
        super().finish()
        self._flush_run(self._filled - self._staged)
        if self._pending is not None:
            self._pending.result()
        self._file.flush()
        self._stage = []
        self.rows = RowReader(self._file.fileno(), 0, self.dtype, self.n_cols,
                              "the spill file", positions=self._positions)

    def close(self) -> None:
        super().close()
        if self._pending is not None:
            self._pending.cancel()
        self._writer.shutdown(wait=True)
        if self._file is not None:
            self._file.close()
            self._file = None


SOURCES = {cls.name: cls for cls in (MemoryRows, FileRows, SpillRows)}
