"""HDF5 datasets, read in row bands aligned to the dataset's chunking."""

from __future__ import annotations

import os
from typing import Any, Iterator

import h5py
import numpy as np

from ..errors import InputError
from .rawio import RawRows
from .base import DEFAULT_BLOCK_BYTES, LogitReader, check_dtype, check_shape
from .sparse import DEFAULT_INDICES, DEFAULT_VALUES, SparseReader, check_classes

DEFAULT_DATASET = "logits"


def list_datasets(f: h5py.File) -> list[str]:
    names: list[str] = []
    f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    return names


def open_h5(path: str, rdcc_nbytes: int = 1 * 2**20) -> h5py.File:
    try:
        return h5py.File(path, "r", rdcc_nbytes=rdcc_nbytes, rdcc_nslots=10007)
    except OSError as exc:
        raise InputError(f"{path}: not a readable HDF5 file ({exc})") from None


def get_dataset(f: h5py.File, path: str, name: str, option: str | None = "dataset"
                ) -> h5py.Dataset:
    """The dataset `name`, checked: present, not an empty dataspace, and, when virtual, with
    every source file present (HDF5 would silently read a missing source as fill values)."""
    try:
        obj = f.get(name)
    except (KeyError, RuntimeError, OSError, ValueError) as exc:  # broken or looping links
        raise InputError(f"{path}: cannot open '{name}' ({exc})") from None
    if not isinstance(obj, h5py.Dataset):
        found = ", ".join(list_datasets(f)) or "none"
        raise InputError(f"{path}: no dataset '{name}' (datasets in the file: {found})",
                         option=option)
    if obj.shape is None:
        raise InputError(f"{path}: dataset '{name}' holds no array (an empty dataspace)")
    if obj.is_virtual:
        folder = os.path.dirname(os.path.abspath(path))
        for source in obj.virtual_sources():
            file = source.file_name
            where = path if file == "." else os.path.join(folder, file)
            if not os.path.isfile(where):
                raise InputError(f"{path}: virtual dataset '{name}' maps a missing file "
                                 f"'{file}'")
    return obj


class H5Reader(LogitReader):
    format = "hdf5"

    def __init__(self, path: str, dataset: str | None = None) -> None:
        name = dataset or DEFAULT_DATASET
        with open_h5(path) as probe:
            dset = get_dataset(probe, path, name)
            shape, dtype, chunks = dset.shape, dset.dtype, dset.chunks
        check_dtype(path, dtype)
        n, k = check_shape(path, shape)
        super().__init__(path, n, k, dtype)
        self.dataset = name
        self.chunks = chunks
        # A row band touches every chunk across the columns: cache one band so each chunk
        # is decompressed once.
        band = (chunks[0] if chunks else 1) * k * self.dtype.itemsize
        self._file = open_h5(path, rdcc_nbytes=max(2**20, min(band * 2, 512 * 2**20)))
        self._dset = self._file[name]

    def default_block_rows(self, target_bytes: int = DEFAULT_BLOCK_BYTES) -> int:
        rows = super().default_block_rows(target_bytes)
        if self.chunks:
            rows = max(1, rows // self.chunks[0]) * self.chunks[0]
        return rows

    def blocks(self, rows: int) -> Iterator[np.ndarray]:
        if self.chunks and rows % self.chunks[0]:
            rows = max(1, rows // self.chunks[0]) * self.chunks[0]
        for start in range(0, self.n_rows, rows):
            m = min(rows, self.n_rows - start)
            block = np.empty((m, self.n_cols), dtype=self.dtype.newbyteorder("="))
            try:
                self._dset.read_direct(block, np.s_[start:start + m], np.s_[0:m])
            except (OSError, ValueError) as exc:
                raise InputError(f"{self.path}: cannot read rows {start}..{start + m - 1} of "
                                 f"'{self.dataset}' ({exc})") from None
            yield block

    def raw_rows(self) -> RawRows | None:
        # A contiguous, unfiltered dataset is one row-major run of bytes in the file.
        if self.chunks or not self.dtype.isnative:
            return None
        offset = self._dset.id.get_offset()
        return None if offset is None else RawRows(self.path, offset, self.dtype, self.n_cols)

    def info(self) -> dict[str, Any]:
        out = super().info()
        out.update(dataset=self.dataset, chunks=list(self.chunks) if self.chunks else None,
                   compression=self._dset.compression)
        return out

    def close(self) -> None:
        if getattr(self, "_file", None) is not None and self._file.id.valid:
            self._file.close()


class H5SparseReader(SparseReader):
    """Sparse rows from two N x k datasets, `indices` and `values`, and the number of classes
    in an `n_classes` attribute of the file (or of either dataset)."""

    format = "hdf5 (sparse)"

    def __init__(self, path: str, indices: str, values: str, n_classes: int | None) -> None:
        self._file = open_h5(path)
        try:
            self._idx = get_dataset(self._file, path, indices, option="indices")
            self._val = get_dataset(self._file, path, values, option="values")
            if self._idx.shape != self._val.shape or len(self._idx.shape) != 2:
                raise InputError(f"{path}: '{indices}' has shape {self._idx.shape} and "
                                 f"'{values}' {self._val.shape}; they must be the same N x k")
            attrs = [obj.attrs.get("n_classes") for obj in (self._file, self._val, self._idx)]
            found = next((a for a in attrs if a is not None), None)
            n, k = self._idx.shape
            super().__init__(path, n, k, check_classes(path, found, n_classes),
                             self._idx.dtype, self._val.dtype)
        except BaseException:
            self._file.close()
            raise

    def pair_blocks(self, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, self.n_rows, rows):
            try:
                yield (self._idx[start:start + rows].astype(np.int64, copy=False),
                       self._val[start:start + rows])
            except (OSError, ValueError) as exc:
                raise InputError(f"{self.path}: cannot read rows {start}.. ({exc})") from None

    def close(self) -> None:
        if self._file.id.valid:
            self._file.close()


def open_hdf5(path: str, dataset: str | None = None, n_classes: int | None = None,
              indices: str | None = None, values: str | None = None,
              **_: object) -> LogitReader:
    """The dense dataset (default `logits`), or sparse rows when the file holds `indices` and
    `values` datasets and no dense dataset was asked for (or they are named)."""
    if not (indices or values) and dataset is None:
        with open_h5(path) as probe:
            names = set(list_datasets(probe))
        if DEFAULT_DATASET not in names and {DEFAULT_INDICES, DEFAULT_VALUES} <= names:
            indices, values = DEFAULT_INDICES, DEFAULT_VALUES
    if indices or values:
        return H5SparseReader(path, indices or DEFAULT_INDICES, values or DEFAULT_VALUES,
                              n_classes)
    return H5Reader(path, dataset)
