"""Readers of logit matrices, dense or sparse; `open_logits` picks one by the file's
extension from one table."""

from __future__ import annotations

import importlib
import os
from typing import Callable, Sequence

from ..errors import UsageError
from ..formats import extensions, format_of
from .base import ArrayReader, LogitReader
from .npy import NpyReader
from .shards import ShardedReader, shard_paths
from .sparse import SparseArrayReader

__all__ = ["ArrayReader", "LogitReader", "SparseArrayReader", "open_logits"]


def _lazy(module: str, name: str) -> Callable[..., LogitReader]:
    """An opener importing its module on first use: h5py, pyarrow, torch and safetensors take
    a while to import, so only the format in use pays."""
    def opener(path: str, **options: object) -> LogitReader:
        return getattr(importlib.import_module(module, __package__), name)(path, **options)
    return opener


#: Format (l2h_cli.formats) -> opener. Every opener takes the path and the options dataset,
#: column, key, n_classes, indices and values as keywords, and ignores the ones that do not
#: apply to its format.
OPENERS: dict[str, Callable[..., LogitReader]] = {
    "npy": lambda path, **options: NpyReader(path),
    "hdf5": _lazy(".hdf5", "open_hdf5"), "parquet": _lazy(".parquet", "open_parquet_logits"),
    "npz": _lazy(".npz", "open_npz"), "safetensors": _lazy(".tensors", "open_safetensors"),
    "torch": _lazy(".tensors", "open_torch"),
}


def open_logits(path: str | Sequence[str], dataset: str | None = None,
                column: str | None = None, *, key: str | None = None,
                n_classes: int | None = None, indices: str | None = None,
                values: str | None = None) -> LogitReader:
    """Open `path` by its extension (l2h_cli.formats), or `-` for an .npy stream on stdin.
    Shards (a directory, a glob pattern, or several paths) read as one matrix, their rows
    concatenated in sorted path order.

    `dataset` (HDF5), `column` (Parquet) and `key` (.npz, .safetensors, .pt) name a dense
    matrix; `indices` and `values` name the two arrays of sparse rows (found by those names
    by default), `n_classes` their number of columns when the file does not say it.
    """
    options = dict(dataset=dataset, column=column, key=key, n_classes=n_classes,
                   indices=indices, values=values)
    if not isinstance(path, str) and len(path) == 1:
        path = path[0]
    shards = shard_paths(path, extensions("logits"))
    if shards is not None:
        if len(shards) == 1:
            return _open_one(shards[0], options)
        return ShardedReader(shards, lambda one: _open_one(one, options))
    return _open_one(path, options)


def _open_one(path: str, options: dict) -> LogitReader:
    if path == "-":
        return NpyReader(path)
    if not os.path.exists(path):
        raise UsageError(f"{path}: no such file")
    if os.path.isdir(path):
        raise UsageError(f"{path}: is a directory")
    return OPENERS[format_of(path, "logits")](path, **options)
