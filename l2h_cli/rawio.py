"""Rows read back by position from a file that stores them plainly (a C-ordered .npy, a
contiguous HDF5 dataset), so a build need not copy the matrix into a spill file.

One positional read per run of consecutive rows. With the compiled extra the reads are issued
from compiled code on the worker threads, without the interpreter in between.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from . import kernels
from .errors import InputError


@dataclass(frozen=True)
class RawRows:
    path: str
    offset: int          # byte offset of row 0
    dtype: np.dtype      # native byte order
    n_cols: int

    @property
    def row_bytes(self) -> int:
        return self.n_cols * self.dtype.itemsize


def supported() -> bool:
    return hasattr(os, "pread")


class RowReader:
    """An open file of raw rows; `read` is safe to call from several threads at once."""

    def __init__(self, raw: RawRows) -> None:
        self.raw = raw
        self._fd = os.open(raw.path, os.O_RDONLY)

    def read(self, rows: np.ndarray) -> np.ndarray:
        """The rows with these (sorted within runs) indices, in that order."""
        raw = self.raw
        out = np.empty((len(rows), raw.n_cols), dtype=raw.dtype)
        if kernels.BACKEND == "numba":
            from .kernels_numba import read_rows
            ok = read_rows(self._fd, raw.offset, raw.row_bytes,
                           rows.astype(np.int64, copy=False), out) == 0
        else:
            ok = _read_rows(self._fd, raw.offset, raw.row_bytes, rows, out)
        if not ok:
            raise InputError(f"{raw.path}: cannot read rows back (did the file change during "
                             "the build?)")
        return out

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _read_rows(fd: int, offset: int, row_bytes: int, rows: np.ndarray, out: np.ndarray) -> bool:
    flat = memoryview(out.reshape(-1).view(np.uint8))
    # Runs of consecutive row indices: one read each.
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    for start, stop in zip(np.concatenate(([0], breaks)), np.concatenate((breaks, [len(rows)]))):
        want = (stop - start) * row_bytes
        dest = flat[start * row_bytes:stop * row_bytes]
        got = 0
        while got < want:
            n = os.preadv(fd, [dest[got:]], offset + int(rows[start]) * row_bytes + got)
            if n <= 0:
                return False
            got += n
    return True
