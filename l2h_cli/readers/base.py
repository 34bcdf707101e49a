"""The interface every logit reader implements: a known shape, then row blocks in order."""

from __future__ import annotations

import os
import stat
from abc import ABC, abstractmethod
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import InputError
from .rawio import RawRows

#: Aim for row blocks of about this many bytes of input.
DEFAULT_BLOCK_BYTES = 16 * 2**20


def file_identity(path: str) -> tuple[int, ...] | None:
    """What changes whenever a file is replaced or written to: device, inode, size, and the
    modification and status-change times (the latter cannot be set back by hand). None for
    streams and paths that are not regular files."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class LogitReader(ABC):
    """A matrix of N rows by K columns that is read front to back in row blocks.

    Blocks are fresh arrays the caller may keep; their row counts may vary.
    """

    format: str = ""

    def __init__(self, path: str, n_rows: int, n_cols: int, dtype: np.dtype) -> None:
        self.path = path
        self.n_rows = int(n_rows)
        self.n_cols = int(n_cols)
        self.dtype = np.dtype(dtype)
        self._identity = file_identity(path)

    def check_unchanged(self) -> None:
        """Raise InputError if the file was replaced or written to since it was opened."""
        if self._identity is not None and file_identity(self.path) != self._identity:
            raise InputError(f"{self.path}: the file changed while it was being read; "
                             "nothing was written")

    #: Sparse readers yield rows of k (column, value) pairs (kernels.sparse_dtype records, one
    #: per row); dense ones rows of n_cols values.
    sparse = False

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_rows, self.n_cols)

    @property
    def row_dtype(self) -> np.dtype:
        """The dtype of the blocks' items."""
        return self.dtype

    @property
    def row_width(self) -> int:
        """Items per row of a block: n_cols, or 1 record for sparse rows."""
        return self.n_cols

    @property
    def values_per_row(self) -> int:
        """Numbers stored per row: what reading and computing on a row costs."""
        return self.n_cols

    def default_block_rows(self, target_bytes: int = DEFAULT_BLOCK_BYTES) -> int:
        return max(1, target_bytes // max(1, self.n_cols * 8))

    @abstractmethod
    def blocks(self, rows: int) -> Iterator[np.ndarray]:
        """Yield consecutive blocks of at most `rows` rows covering the matrix once."""

    def raw_rows(self) -> RawRows | None:
        """Where the rows lie in the file, when it holds them as plain native-endian
        row-major values that can be read back by position; else None."""
        return None

    def info(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "shape": list(self.shape),
                "dtype": str(self.dtype)}

    def close(self) -> None:
        pass

    def __enter__(self) -> "LogitReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_dtype(path: str, dtype: np.dtype) -> np.dtype:
    """Accept integer and real floating types; logits of any other kind are an input error."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "iuf":
        raise InputError(f"{path}: logits must be numeric (integer or float), got dtype {dtype}")
    return dtype


def check_shape(path: str, shape: tuple[int, ...] | None) -> tuple[int, int]:
    if shape is None:
        raise InputError(f"{path}: the dataset holds no array (an empty dataspace)")
    if len(shape) != 2:
        raise InputError(f"{path}: logits must be a 2-D array (N points x K clusters), "
                         f"got {len(shape)}-D shape {tuple(shape)}")
    n, k = int(shape[0]), int(shape[1])
    if n < 0 or k < 0:
        raise InputError(f"{path}: negative dimension in shape {tuple(shape)}")
    if n == 0:
        raise InputError(f"{path}: the logit matrix has zero rows")
    if k == 0:
        raise InputError(f"{path}: the logit matrix has zero columns")
    return n, k


class ArrayReader(LogitReader):
    """Any sliceable N x K array (a NumPy array, an h5py or zarr dataset, a memory map, a
    tensor): only the rows of one block are taken at a time, as dask's from_array does.

    >>> ArrayReader(np.zeros((3, 2), np.float32)).shape
    (3, 2)
    """

    format = "array"

    def __init__(self, array: Any, path: str = "<array>",
                 convert: Callable[[Any], np.ndarray] = np.asarray) -> None:
        if not hasattr(array, "shape") or not hasattr(array, "__getitem__"):
            array = np.asarray(array)
        self._convert = convert
        dtype = convert(array[:0]).dtype
        check_dtype(path, dtype)
        n, k = check_shape(path, tuple(array.shape))
        super().__init__(path, n, k, dtype)
        self._array = array

    def blocks(self, rows: int) -> Iterator[np.ndarray]:
        for start in range(0, self.n_rows, rows):
            yield np.ascontiguousarray(self._convert(self._array[start:start + rows]))
