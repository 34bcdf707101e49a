"""Ground-truth labels: .npy, .txt/.csv (one a line; any strings), an .h5 dataset or a Parquet
column. `FILE#NAME` picks the dataset or column (defaults: `labels`, or the only column)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .errors import InputError, UsageError


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
    path, name = split_spec(spec)
    if not os.path.exists(path) or os.path.isdir(path):
        raise UsageError(f"{path}: no such file")
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise InputError(f"{path}: not a readable .npy file ({exc})") from None
    elif ext in (".txt", ".csv", ".tsv", ""):
        try:
            with open(path, encoding="utf-8") as fh:
                lines = fh.read().splitlines()
        except UnicodeDecodeError:
            raise InputError(f"{path}: not UTF-8 text") from None
        while lines and not lines[-1].strip():
            lines.pop()
        values = np.array([line.strip() for line in lines], dtype=object).astype(str)
    elif ext in (".h5", ".hdf5", ".hdf"):
        from .readers.hdf5 import get_dataset, open_h5
        with open_h5(path) as f:
            values = get_dataset(f, path, name or "labels")[()]
    elif ext in (".parquet", ".pq"):
        from .readers.parquet import open_parquet
        pf = open_parquet(path)
        names = pf.schema_arrow.names
        column = name or ("labels" if "labels" in names else names[0] if len(names) == 1
                          else None)
        if column not in names:
            raise InputError(f"{path}: no labels column '{name}' (columns: {', '.join(names)}); "
                             "write FILE#COLUMN")
        values = pf.read(columns=[column]).column(0).to_numpy(zero_copy_only=False)
    else:
        raise UsageError(f"{path}: unknown labels extension '{ext}' "
                         "(expected .npy, .txt, .csv, .h5 or .parquet)")
    values = np.asarray(values)
    if values.ndim == 2 and 1 in values.shape:
        values = values.reshape(-1)
    if values.ndim != 1:
        raise InputError(f"{path}: labels must be one value per point, got shape {values.shape}")
    if values.dtype.kind == "f" and np.isnan(values).any():
        raise InputError(f"{path}: label {int(np.flatnonzero(np.isnan(values))[0])} is NaN")
    if values.dtype.kind == "O":
        values = values.astype(str)
    classes, codes = np.unique(values, return_inverse=True)
    return Labels(spec, codes.reshape(-1).astype(np.int64), classes)
