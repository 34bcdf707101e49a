"""Sparse (top-k) logits: each row stores k (column, value) pairs and every other logit is
-inf. Read in row blocks of (indices, values) and handed on as sparse-row records
(kernels.sparse_dtype), never densified."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import InputError
from .base import LogitReader, check_dtype

DEFAULT_INDICES, DEFAULT_VALUES = "indices", "values"


def sparse_dtype(k: int, values: np.dtype) -> np.dtype:
    """One sparse (top-k) row as a fixed-size record: k columns (int32, -1 for padding) and
    their k values. Stores and spill files hold such rows like any other."""
    return np.dtype([("idx", np.int32, (k,)), ("val", np.dtype(values), (k,))])


def is_sparse(dtype: np.dtype) -> bool:
    return dtype.names is not None


def sparse_fields(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(columns, values), each rows x k, of an array of sparse-row records of shape (n, 1)."""
    return rows["idx"][:, 0], rows["val"][:, 0]


def check_classes(path: str, n_classes: Any, given: int | None) -> int:
    """The number of classes: from the file, else `given`; both must agree."""
    if n_classes is None and given is None:
        raise InputError(f"{path}: sparse logits need the number of classes, and the file does "
                         "not say it", option="n-classes")
    if n_classes is not None:
        try:
            from_file = int(np.asarray(n_classes).reshape(-1)[0])
        except (TypeError, ValueError, IndexError):
            raise InputError(f"{path}: n_classes is not a number ({n_classes!r})") from None
        if given is not None and given != from_file:
            raise InputError(f"{path}: the file says {from_file} classes, but {given} were "
                             "given")
        given = from_file
    if not 1 <= given < 2**31:
        raise InputError(f"{path}: {given} classes is out of range")
    return int(given)


class SparseReader(LogitReader):
    """Rows of k (column, value) pairs over n_classes columns."""

    sparse = True

    def __init__(self, path: str, n_rows: int, k: int, n_classes: int, index_dtype: np.dtype,
                 value_dtype: np.dtype) -> None:
        if np.dtype(index_dtype).kind not in "iu":
            raise InputError(f"{path}: sparse column indices must be integers, not "
                             f"{index_dtype}")
        check_dtype(path, value_dtype)
        if n_rows <= 0:
            raise InputError(f"{path}: the logit matrix has zero rows")
        if k <= 0:
            raise InputError(f"{path}: sparse rows hold no entries (k = 0)")
        super().__init__(path, n_rows, n_classes, value_dtype)
        self.k = int(k)

    @property
    def row_dtype(self) -> np.dtype:
        values = self.dtype if self.dtype in (np.float32, np.float64) else np.float64
        return sparse_dtype(self.k, values)

    @property
    def row_width(self) -> int:
        return 1

    @property
    def values_per_row(self) -> int:
        return 2 * self.k

    def default_block_rows(self, target_bytes: int = 16 * 2**20) -> int:
        return max(1, target_bytes // (self.k * 16))

    @abstractmethod
    def pair_blocks(self, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Consecutive (indices, values) blocks of at most `rows` rows, each rows x k."""

    def blocks(self, rows: int) -> Iterator[np.ndarray]:
        start = 0
        for idx, val in self.pair_blocks(rows):
            if idx.shape != val.shape or idx.ndim != 2 or idx.shape[1] != self.k:
                raise InputError(f"{self.path}: indices and values of rows {start}.. do not "
                                 f"have the same shape (rows x {self.k})")
            out = np.empty((len(idx), 1), dtype=self.row_dtype)
            bad = (idx < -1) | (idx >= self.n_cols)
            if bad.any():
                row = int(np.flatnonzero(bad.any(axis=1))[0])
                raise InputError(f"{self.path}: row {start + row} has a column index outside "
                                 f"0..{self.n_cols - 1} (and -1 for padding)")
            out["idx"][:, 0] = idx
            out["val"][:, 0] = val
            start += len(idx)
            yield out

    def info(self) -> dict[str, Any]:
        out = super().info()
        out.update(sparse=True, stored_per_row=self.k, n_classes=self.n_cols)
        return out


class SparseArrayReader(SparseReader):
    """Sparse rows from two sliceable N x k arrays (NumPy arrays, datasets, tensors), taken a
    block of rows at a time.

    >>> import numpy as np
    >>> r = SparseArrayReader(np.array([[0, 2]]), np.array([[1.0, 0.5]]), n_classes=4)
    >>> r.shape, r.k
    ((1, 4), 2)
    """

    format = "sparse arrays"

    def __init__(self, indices: Any, values: Any, n_classes: int, path: str = "<arrays>",
                 convert: Callable[[Any], np.ndarray] = np.asarray) -> None:
        if not hasattr(indices, "shape"):
            indices, values = np.asarray(indices), np.asarray(values)
        if len(indices.shape) != 2 or tuple(indices.shape) != tuple(values.shape):
            raise InputError(f"{path}: indices and values must be two N x k arrays of the same "
                             f"shape, got {tuple(indices.shape)} and {tuple(values.shape)}")
        self._convert = convert
        super().__init__(path, indices.shape[0], indices.shape[1],
                         check_classes(path, n_classes, None), convert(indices[:0]).dtype,
                         convert(values[:0]).dtype)
        self._indices, self._values = indices, values

    def pair_blocks(self, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, self.n_rows, rows):
            yield (self._convert(self._indices[start:start + rows]),
                   self._convert(self._values[start:start + rows]))
