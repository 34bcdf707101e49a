"""Parquet files: one list or fixed-size-list column, or K numeric columns.

Read with `iter_batches` into NumPy; never through pandas or Python lists, which cost several
times the matrix in memory.
"""

from __future__ import annotations

import threading
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InputError, L2HWarning
from .base import LogitReader, check_dtype, check_shape
from .sparse import DEFAULT_INDICES, DEFAULT_VALUES, SparseReader, check_classes


#: Row groups up to this size (decoded) are read two at a time, each whole, on two threads;
#: larger ones are streamed in batches.
GROUP_BYTES = 64 * 2**20


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t)


def open_parquet(path: str) -> pq.ParquetFile:
    try:
        # pre_buffer caches whole row groups ahead: 6 GB of RSS for a 5 GB file (measured).
        return pq.ParquetFile(path, pre_buffer=False)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None


class ParquetReader(LogitReader):
    format = "parquet"

    def __init__(self, path: str, column: str | None = None) -> None:
        self._pf = open_parquet(path)
        schema = self._pf.schema_arrow
        n = self._pf.metadata.num_rows
        if column is not None:
            if column not in schema.names:
                raise InputError(f"{path}: no column '{column}' (columns: {', '.join(schema.names)})")
            field = schema.field(column)
            if _is_list(field.type):
                self._columns, self.layout = [column], "list"
            elif _is_number(field.type):
                self._columns, self.layout = [column], "columns"
            else:
                raise InputError(f"{path}: column '{column}' has type {field.type}, "
                                 "expected a list of numbers or a numeric column")
        else:
            lists = [f.name for f in schema if _is_list(f.type)]
            if len(lists) > 1:
                raise InputError(f"{path}: several list columns ({', '.join(lists)}); "
                                 "choose one", option="column")
            if lists:
                self._columns, self.layout = lists, "list"
            else:
                numeric = [f.name for f in schema if _is_number(f.type)]
                if not numeric:
                    raise InputError(f"{path}: no list column and no numeric columns to read "
                                     "as logits")
                skipped = [f.name for f in schema if not _is_number(f.type)]
                if skipped:
                    warnings.warn(f"{path}: ignoring non-numeric columns {', '.join(skipped)}",
                                  L2HWarning, stacklevel=2)
                self._columns, self.layout = numeric, "columns"
        if self.layout == "list":
            vtype = schema.field(self._columns[0]).type.value_type
            if not _is_number(vtype):
                raise InputError(f"{path}: list column '{self._columns[0]}' holds {vtype}, "
                                 "expected numbers")
            dtype = vtype.to_pandas_dtype()
            k = self._list_width(path, n)
        else:
            types = [schema.field(c).type for c in self._columns]
            dtype = np.result_type(*[t.to_pandas_dtype() for t in types])
            k = len(self._columns)
        check_dtype(path, np.dtype(dtype))
        n, k = check_shape(path, (n, k))
        super().__init__(path, n, k, np.dtype(dtype))

    def _list_width(self, path: str, n: int) -> int:
        t = self._pf.schema_arrow.field(self._columns[0]).type
        if pa.types.is_fixed_size_list(t):
            return t.list_size
        if n == 0:
            return 0
        # The width of the first list that is not null (a null row is reported when read).
        for batch in self._pf.iter_batches(batch_size=1024, columns=self._columns):
            col = batch.column(0)
            valid = np.flatnonzero(col.is_valid().to_numpy(zero_copy_only=False))
            if valid.size:
                return len(col[int(valid[0])])
        raise InputError(f"{path}: every row of list column '{self._columns[0]}' is null")

    def blocks(self, rows: int) -> Iterator[np.ndarray]:
        md = self._pf.metadata
        groups = [md.row_group(i).num_rows for i in range(md.num_row_groups)]
        if len(groups) > 1 and max(groups) * self.n_cols * self.dtype.itemsize <= GROUP_BYTES:
            yield from self._blocks_by_group(rows, groups)
            return
        start = 0
        try:
            for batch in self._pf.iter_batches(batch_size=rows, columns=self._columns):
                block = self._block(batch, start)
                start += len(block)
                yield block
        except pa.ArrowException as exc:
            raise InputError(f"{self.path}: cannot read row block at row {start} ({exc})") from None

    def _blocks_by_group(self, rows: int, groups: list[int]) -> Iterator[np.ndarray]:
        """Row groups decoded ahead on two threads (decoding lists is most of the time of a
        Parquet read, and pyarrow releases the GIL), yielded in order."""
        starts = np.concatenate(([0], np.cumsum(groups)))
        local = threading.local()

        def decode(i: int) -> list[np.ndarray]:
            if not hasattr(local, "pf"):  # a ParquetFile is not shared between threads
                local.pf = open_parquet(self.path)
            out, start = [], int(starts[i])
            try:
                for batch in local.pf.iter_batches(batch_size=rows, row_groups=[i],
                                                   columns=self._columns, use_threads=False):
                    out.append(self._block(batch, start))
                    start += len(out[-1])
            except pa.ArrowException as exc:
                raise InputError(f"{self.path}: cannot read row block at row {start} ({exc})") \
                    from None
            return out

        with ThreadPoolExecutor(2) as pool:
            ahead = deque(pool.submit(decode, i) for i in range(min(2, len(groups))))
            for i in range(len(groups)):
                blocks = ahead.popleft().result()
                if i + 2 < len(groups):
                    ahead.append(pool.submit(decode, i + 2))
                yield from blocks

    def _block(self, batch: pa.RecordBatch, start: int) -> np.ndarray:
        return (self._list_block(batch.column(0), start) if self.layout == "list"
                else self._columns_block(batch, start))

    def _list_block(self, col: pa.Array, start: int) -> np.ndarray:
        m, k = len(col), self.n_cols
        if col.null_count:
            bad = start + int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise InputError(f"{self.path}: row {bad} is null")
        if not pa.types.is_fixed_size_list(col.type):
            offsets = col.offsets.to_numpy()
            lengths = np.diff(offsets)
            wrong = np.flatnonzero(lengths != k)
            if wrong.size:
                i = int(wrong[0])
                raise InputError(f"{self.path}: ragged lists: row {start + i} has "
                                 f"{int(lengths[i])} values, expected {k}")
            values = col.values.slice(int(offsets[0]), m * k)
        else:
            values = col.values.slice(col.offset * k, m * k)
        if values.null_count:
            pos = int(np.flatnonzero(values.is_null().to_numpy(zero_copy_only=False))[0])
            raise InputError(f"{self.path}: row {start + pos // k} holds a null value")
        return values.to_numpy(zero_copy_only=False).reshape(m, k).astype(self.dtype, copy=False)

    def _columns_block(self, batch: pa.RecordBatch, start: int) -> np.ndarray:
        out = np.empty((batch.num_rows, self.n_cols), dtype=self.dtype)
        for j, col in enumerate(batch.columns):
            if col.null_count:
                pos = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
                raise InputError(f"{self.path}: row {start + pos} has a null in column "
                                 f"'{self._columns[j]}'")
            out[:, j] = col.to_numpy(zero_copy_only=False)
        return out

    def info(self) -> dict[str, Any]:
        out = super().info()
        out.update(layout=self.layout, columns=self._columns if self.layout == "list"
                   else f"{len(self._columns)} numeric columns",
                   row_groups=self._pf.metadata.num_row_groups)
        return out


def _padded(col: pa.Array, k: int, fill: Any, dtype: np.dtype, path: str, start: int,
            what: str) -> np.ndarray:
    """A list column as an m x k array; shorter rows are padded with `fill`."""
    m = len(col)
    if col.null_count:
        bad = start + int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
        raise InputError(f"{path}: row {bad} is null")
    if pa.types.is_fixed_size_list(col.type):
        flat = col.values.slice(col.offset * k, m * k)
        lengths = np.full(m, k)
    else:
        offsets = col.offsets.to_numpy()
        lengths = np.diff(offsets)
        flat = col.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    if flat.null_count:
        raise InputError(f"{path}: a {what} entry near row {start} is null")
    values = flat.to_numpy(zero_copy_only=False)
    if (lengths == k).all():
        return values.reshape(m, k).astype(dtype, copy=False)
    if (lengths > k).any():
        row = int(np.flatnonzero(lengths > k)[0])
        raise InputError(f"{path}: row {start + row} holds {int(lengths[row])} {what}, more "
                         f"than the {k} of the first row")
    out = np.full((m, k), fill, dtype=dtype)
    rows = np.repeat(np.arange(m), lengths)
    pos = np.arange(len(values)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    out[rows, pos] = values
    return out


class ParquetSparseReader(SparseReader):
    """Sparse rows from two list columns (`indices`, `values`), up to k entries a row (shorter
    rows are padded); the number of classes from the schema's `n_classes` metadata or given."""

    format = "parquet (sparse)"

    def __init__(self, path: str, indices: str, values: str, n_classes: int | None) -> None:
        self._pf = open_parquet(path)
        schema = self._pf.schema_arrow
        for name in (indices, values):
            if name not in schema.names or not _is_list(schema.field(name).type):
                raise InputError(f"{path}: no list column '{name}' (columns: "
                                 f"{', '.join(schema.names)})",
                                 option="indices" if name == indices else "values")
        self._columns = [indices, values]
        itype, vtype = (schema.field(c).type.value_type for c in self._columns)
        if not (_is_number(itype) and _is_number(vtype)):
            raise InputError(f"{path}: '{indices}' and '{values}' must hold numbers")
        meta = schema.metadata or {}
        found = meta.get(b"n_classes")
        n = self._pf.metadata.num_rows
        k = self._longest(path)
        super().__init__(path, n, k, check_classes(path, found and found.decode(), n_classes),
                         np.dtype(itype.to_pandas_dtype()), np.dtype(vtype.to_pandas_dtype()))

    def _longest(self, path: str) -> int:
        """k: the list size, or for variable-size lists the longest row (one pass over the
        offsets of the indices column)."""
        t = self._pf.schema_arrow.field(self._columns[0]).type
        if pa.types.is_fixed_size_list(t):
            return t.list_size
        longest = 0
        for batch in self._pf.iter_batches(batch_size=65536, columns=self._columns[:1]):
            offsets = batch.column(0).offsets.to_numpy()
            if len(offsets) > 1:
                longest = max(longest, int(np.diff(offsets).max()))
        if not longest:
            raise InputError(f"{path}: every row of '{self._columns[0]}' is empty")
        return longest

    def pair_blocks(self, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        start = 0
        try:
            for batch in self._pf.iter_batches(batch_size=rows, columns=self._columns):
                lengths = [np.diff(c.offsets.to_numpy()) for c in batch.columns
                           if not pa.types.is_fixed_size_list(c.type)]
                if len(lengths) == 2 and len(lengths[0]) == len(lengths[1]) \
                        and (lengths[0] != lengths[1]).any():
                    row = start + int(np.flatnonzero(lengths[0] != lengths[1])[0])
                    raise InputError(f"{self.path}: row {row} has {lengths[0][row - start]} "
                                     f"indices but {lengths[1][row - start]} values")
                idx = _padded(batch.column(0), self.k, -1, np.int64, self.path, start,
                              "indices")
                val = _padded(batch.column(1), self.k, -np.inf, self.row_dtype["val"].base,
                              self.path, start, "values")
                start += len(idx)
                yield idx, val
        except pa.ArrowException as exc:
            raise InputError(f"{self.path}: cannot read row block at row {start} ({exc})") \
                from None


def open_parquet_logits(path: str, column: str | None = None, n_classes: int | None = None,
                        indices: str | None = None, values: str | None = None,
              **_: object) -> LogitReader:
    """Dense logits (one list column or K numeric columns), or sparse rows when the file has
    list columns `indices` and `values` and no column was asked for (or they are named)."""
    if not (indices or values) and column is None:
        names = set(open_parquet(path).schema_arrow.names)
        if {DEFAULT_INDICES, DEFAULT_VALUES} <= names:
            indices, values = DEFAULT_INDICES, DEFAULT_VALUES
    if indices or values:
        return ParquetSparseReader(path, indices or DEFAULT_INDICES, values or DEFAULT_VALUES,
                                   n_classes)
    return ParquetReader(path, column)
