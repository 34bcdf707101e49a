"""Rows read back by position from a file that stores them plainly: the input itself (a
C-ordered .npy, a contiguous HDF5 dataset) or the build's spill file.

One positional read per run of consecutive positions. The compiled kernels read and compute in
one loop (kernels_numba.restricted_mass_file); `RowReader.read` serves the NumPy kernels and
the few other callers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class RawRows:
    """Where a file keeps an N x n_cols matrix of native-endian values, row after row."""
    path: str
    offset: int          # byte offset of row 0
    dtype: np.dtype
    n_cols: int


def supported() -> bool:
    return hasattr(os, "pread")


class RowReader:
    """Rows of a raw row-major file; row i sits at position `positions[i]` (at position i
    when `positions` is None). Safe to use from several threads at once."""

    def __init__(self, fd: int, offset: int, dtype: np.dtype, n_cols: int, name: str,
                 positions: np.ndarray | None = None, owns_fd: bool = False) -> None:
        self.fd, self.offset, self.n_cols, self.name = fd, offset, n_cols, name
        self.dtype = np.dtype(dtype)
        self.row_bytes = n_cols * self.dtype.itemsize
        self.positions = positions
        self._owns_fd = owns_fd

    @classmethod
    def open(cls, raw: RawRows) -> "RowReader":
        return cls(os.open(raw.path, os.O_RDONLY), raw.offset, raw.dtype, raw.n_cols,
                   raw.path, owns_fd=True)

    def where(self, rows: np.ndarray) -> np.ndarray:
        """File positions of these rows, as int64."""
        rows = np.asarray(rows, dtype=np.int64)
        return rows if self.positions is None else self.positions[rows]

    def read(self, rows: np.ndarray) -> np.ndarray:
        """The rows with these indices, in that order."""
        where = self.where(rows)
        out = np.empty((len(where), self.n_cols), dtype=self.dtype)
        flat = memoryview(out.reshape(-1).view(np.uint8))
        breaks = np.flatnonzero(np.diff(where) != 1) + 1
        for start, stop in zip(np.concatenate(([0], breaks)),
                               np.concatenate((breaks, [len(where)]))):
            want = (stop - start) * self.row_bytes
            dest = flat[start * self.row_bytes:stop * self.row_bytes]
            got = 0
            while got < want:
                n = os.preadv(self.fd, [dest[got:]],
                              self.offset + int(where[start]) * self.row_bytes + got)
                if n <= 0:
                    raise self.error()
                got += n
        return out

    def error(self) -> InputError:
        return InputError(f"{self.name}: cannot read rows back (did the file change during the "
                          "build?)")

    def close(self) -> None:
        if self._owns_fd and self.fd >= 0:
            os.close(self.fd)
        self.fd = -1


def take_rows(rows: np.ndarray | RowReader, points: np.ndarray) -> np.ndarray:
    """The rows of these points, from a matrix or a RowReader, as an array."""
    return rows[points] if isinstance(rows, np.ndarray) else rows.read(points)
