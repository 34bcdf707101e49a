"""`.npy` files and `.npy` streams on stdin, read in row blocks with explicit reads.

A memory map would be simpler, but every touched page counts in the RSS, so blocks are read
into fresh buffers with `readinto`.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from typing import IO, Any, Iterator

import numpy as np
from numpy.lib import format as npformat

from ..errors import InputError, UsageError
from .rawio import RawRows
from .base import LogitReader, check_dtype, check_shape


def read_header(fh: IO[bytes], shown: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype from an .npy header; any malformation is an InputError."""
    try:
        version = npformat.read_magic(fh)
        reader = (npformat.read_array_header_1_0 if version == (1, 0)
                  else npformat.read_array_header_2_0)
        shape, fortran, dtype = reader(fh)
    except Exception as exc:  # numpy raises half a dozen types for a bad header
        raise InputError(f"{shown}: not a valid .npy file ({exc})") from None
    if any(d < 0 for d in shape):
        raise InputError(f"{shown}: not a valid .npy file (negative dimension in shape "
                         f"{shape})")
    return shape, fortran, dtype


def load_npy(source: str | IO[bytes], what: str, shown: str | None = None) -> np.ndarray:
    """A small .npy file or stream (labels, a linkage matrix) read whole, after checking that
    its header does not promise more data than there is and that it needs no pickle."""
    shown = shown or str(source)
    with (open(source, "rb") if isinstance(source, str) else contextlib.nullcontext(source)) \
            as fh:
        shape, fortran, dtype = read_header(fh, shown)
        if dtype.hasobject:
            raise InputError(f"{shown}: {what} must not hold Python objects (dtype {dtype})")
        start = fh.tell()
        fh.seek(0, os.SEEK_END)
        need = start + int(np.prod(shape, dtype=object)) * dtype.itemsize
        if need > fh.tell():
            raise InputError(f"{shown}: truncated .npy: the header promises shape {shape} "
                             f"of {dtype}, more than the file holds")
        fh.seek(0)
        try:
            return np.load(fh, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise InputError(f"{shown}: not a readable .npy file ({exc})") from None


def _open_stream(path: str) -> tuple[IO[bytes], bool]:
    """The byte stream of `path` and whether it can only be read front to back (stdin, a
    FIFO, a character device)."""
    if path == "-":
        if sys.stdin is None:
            raise InputError("<stdin>: standard input is closed")
        if sys.stdin.isatty():
            raise UsageError("<stdin>: is a terminal; pipe an .npy stream into it")
        return sys.stdin.buffer, True
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    return fh, not stat.S_ISREG(os.fstat(fh.fileno()).st_mode)


class NpyReader(LogitReader):
    format = "npy"

    def __init__(self, path: str, stream: IO[bytes] | None = None) -> None:
        """`stream`: an already open .npy stream (an .npz member) shown as `path`."""
        shown = "<stdin>" if path == "-" else path
        if stream is not None:
            fh, self._stream = stream, True
        else:
            fh, self._stream = _open_stream(path)
        self._fh = fh
        self._owned = path != "-"
        try:
            shape, fortran, dtype = read_header(fh, shown)
            check_dtype(shown, dtype)
            n, k = check_shape(shown, shape)
            if fortran and self._stream:
                raise InputError(f"{shown}: Fortran-ordered .npy cannot be streamed; "
                                 "save it C-ordered (np.ascontiguousarray)")
            self._fortran = fortran
            self._offset = fh.tell() if not self._stream else 0
            if not self._stream:
                expected = self._offset + n * k * dtype.itemsize
                actual = os.fstat(fh.fileno()).st_size
                if actual < expected:
                    have = max(0, actual - self._offset) // (k * dtype.itemsize)
                    raise InputError(f"{shown}: truncated .npy: the header promises {n} rows of "
                                     f"{k} values, the file holds only {have} whole rows")
        except BaseException:
            self.close()
            raise
        super().__init__(shown, n, k, dtype)

    def blocks(self, rows: int) -> Iterator[np.ndarray]:
        if self._fortran:
            yield from self._fortran_blocks(rows)
            return
        row_bytes = self.n_cols * self.dtype.itemsize
        native = self.dtype.newbyteorder("=")
        for start in range(0, self.n_rows, rows):
            m = min(rows, self.n_rows - start)
            block = np.empty((m, self.n_cols), dtype=self.dtype)
            view = memoryview(block.reshape(-1).view(np.uint8))
            got = 0
            while got < len(view):
                chunk = self._fh.readinto(view[got:])
                if not chunk:
                    raise InputError(f"{self.path}: truncated .npy: data ends inside row "
                                     f"{start + got // row_bytes}")
                got += chunk
            yield block if self.dtype.isnative else block.astype(native)

    def raw_rows(self) -> RawRows | None:
        if self._stream or self._fortran or not self.dtype.isnative:
            return None
        return RawRows(self.path, self._offset, self.dtype, self.n_cols)

    def _fortran_blocks(self, rows: int) -> Iterator[np.ndarray]:
        # Column-major data has no contiguous row blocks; a memory map is the practical way.
        arr = np.load(self._fh.name, mmap_mode="r")
        for start in range(0, self.n_rows, rows):
            yield np.ascontiguousarray(arr[start:start + rows])

    def info(self) -> dict[str, Any]:
        out = super().info()
        out["fortran_order"] = bool(self._fortran)
        return out

    def close(self) -> None:
        if self._owned and not self._fh.closed:
            self._fh.close()
