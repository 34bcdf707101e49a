"""Readers of logit matrices; `open_logits` picks one by the file's extension."""

from __future__ import annotations

import os

from ..errors import UsageError
from .base import ArrayReader, LogitReader
from .npy import NpyReader

__all__ = ["ArrayReader", "LogitReader", "open_logits"]


def open_logits(path: str, dataset: str | None = None, column: str | None = None) -> LogitReader:
    """Open `path` (`.npy`, `.h5`/`.hdf5`, `.parquet`, or `-` for an .npy stream on stdin)."""
    if path == "-":
        return NpyReader(path)
    if not os.path.exists(path):
        raise UsageError(f"{path}: no such file")
    if os.path.isdir(path):
        raise UsageError(f"{path}: is a directory")
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npy":
        return NpyReader(path)
    # h5py and pyarrow take a while to import; only pay for the format in use.
    if ext in (".h5", ".hdf5", ".hdf"):
        from .hdf5 import H5Reader
        return H5Reader(path, dataset)
    if ext in (".parquet", ".pq"):
        from .parquet import ParquetReader
        return ParquetReader(path, column)
    raise UsageError(f"{path}: unknown input extension '{ext}' "
                     "(expected .npy, .h5, .hdf5, .parquet, or - for stdin)")
