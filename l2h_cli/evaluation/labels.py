"""Ground-truth labels: .npy, .txt/.csv (one a line; any strings), an .h5 dataset or a Parquet
column. `FILE#NAME` picks the dataset or column (defaults: `labels`, or the only column)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, UsageError
from ..formats import format_of
from ..readers.npy import load_npy
from ..textfile import read_text, text_lines


@dataclass
class Labels:
    source: str
    codes: np.ndarray
    classes: np.ndarray

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def split_spec(spec: str) -> tuple[str, str | None]:
    if "#" in spec and not os.path.exists(spec):
        path, name = spec.rsplit("#", 1)
        return path, name or None
    return spec, None


def read_labels(spec: str) -> Labels:
    """One label a point from `FILE` or `FILE#NAME` (an HDF5 dataset or a Parquet column)."""
    path, name = split_spec(spec)
    if not os.path.exists(path) or os.path.isdir(path):
        raise UsageError(f"{path}: no such file")
    fmt = format_of(path, "labels")
    if fmt == "npy":
        values = load_npy(path, "labels")
    elif fmt == "text":
        lines = text_lines(read_text(path, "labels file"))
        values = np.array([line.strip() for line in lines], dtype=str)
    elif fmt == "hdf5":
        from ..readers.hdf5 import get_dataset, open_h5
        with open_h5(path) as f:
            dset = get_dataset(f, path, name or "labels", option=None)
            if dset.dtype.kind not in "iubfSU" and h5py_string(dset) is None:
                raise InputError(f"{path}: labels must be numbers or strings, not "
                                 f"{dset.dtype}")
            try:
                values = dset[()] if h5py_string(dset) is None else dset.asstr()[()]
            except (OSError, ValueError, TypeError) as exc:
                raise InputError(f"{path}: cannot read labels ({exc})") from None
    else:
        values = _parquet_labels(path, name)
    values = np.asarray(values)
    if values.ndim == 2 and 1 in values.shape:
        values = values.reshape(-1)
    if values.ndim != 1:
        raise InputError(f"{path}: labels must be one value per point, got shape {values.shape}")
    if values.dtype.kind not in "iubfSU" and not all(isinstance(v, str) for v in values):
        raise InputError(f"{path}: labels must be numbers or strings, not {values.dtype}")
    if values.dtype.kind == "f" and np.isnan(values).any():
        raise InputError(f"{path}: label {int(np.flatnonzero(np.isnan(values))[0])} is NaN")
    if values.dtype.kind == "O":
        values = values.astype(str)
    classes, codes = np.unique(values, return_inverse=True)
    return Labels(spec, codes.reshape(-1).astype(np.int64), classes)


def h5py_string(dset) -> object:
    """The string info of an HDF5 dataset of strings, else None."""
    import h5py
    return h5py.check_string_dtype(dset.dtype)


def _parquet_labels(path: str, name: str | None) -> np.ndarray:
    import pyarrow as pa

    from ..readers.parquet import open_parquet
    pf = open_parquet(path)
    names = pf.schema_arrow.names
    column = name or ("labels" if "labels" in names else names[0] if len(names) == 1
                      else None)
    if column not in names:
        raise InputError(f"{path}: no labels column '{name}' (columns: {', '.join(names)}); "
                         "write FILE#COLUMN")
    kind = pf.schema_arrow.field(column).type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_string(kind)
            or pa.types.is_large_string(kind) or pa.types.is_boolean(kind)
            or pa.types.is_dictionary(kind)):
        raise InputError(f"{path}: labels column '{column}' holds {kind}; expected numbers or "
                         "strings")
    try:
        col = pf.read(columns=[column]).column(0)
    except pa.ArrowException as exc:
        raise InputError(f"{path}: cannot read labels ({exc})") from None
    if col.null_count:
        first = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
        raise InputError(f"{path}: label {first} is missing (null)")
    return col.to_numpy(zero_copy_only=False)
