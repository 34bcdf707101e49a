""".npz archives (np.savez, np.savez_compressed): a dense `logits` array, or sparse rows as
`indices` (N x k integers), `values` (N x k floats) and `n_classes`. Members are streamed from
the archive row block by row block, compressed or not."""

from __future__ import annotations

import zipfile
from typing import Any, Iterator

import numpy as np

from ..errors import InputError
from .base import LogitReader
from .npy import NpyReader
from .sparse import DEFAULT_INDICES, DEFAULT_VALUES, SparseReader, check_classes

DEFAULT_KEY = "logits"


def _open_zip(path: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path}: not a readable .npz archive ({exc})") from None


def _member(archive: zipfile.ZipFile, path: str, key: str) -> NpyReader:
    try:
        stream = archive.open(key + ".npy")
    except KeyError:
        keys = ", ".join(n[:-4] for n in archive.namelist() if n.endswith(".npy")) or "none"
        raise InputError(f"{path}: no array '{key}' (arrays: {keys})", option="key") from None
    return NpyReader(f"{path}[{key}]", stream=stream)


def _scalar(archive: zipfile.ZipFile, key: str) -> Any:
    if key + ".npy" not in archive.namelist():
        return None
    with archive.open(key + ".npy") as fh:
        return np.lib.format.read_array(fh, allow_pickle=False)


def open_npz(path: str, key: str | None = None, n_classes: int | None = None,
             indices: str | None = None, values: str | None = None,
              **_: object) -> LogitReader:
    """The dense array `key` (default `logits`), or the sparse pair `indices`/`values` when
    the archive holds them (or they are named)."""
    archive = _open_zip(path)
    names = set(archive.namelist())
    sparse = indices or values or (key is None and f"{DEFAULT_INDICES}.npy" in names
                                   and f"{DEFAULT_VALUES}.npy" in names)
    try:
        if sparse:
            return NpzSparseReader(path, archive, indices or DEFAULT_INDICES,
                                   values or DEFAULT_VALUES, n_classes)
        return NpzReader(path, archive, key or DEFAULT_KEY)
    except BaseException:
        archive.close()
        raise


class NpzReader(LogitReader):
    format = "npz"

    def __init__(self, path: str, archive: zipfile.ZipFile, key: str) -> None:
        self._archive = archive
        self._inner = _member(archive, path, key)
        super().__init__(path, self._inner.n_rows, self._inner.n_cols, self._inner.dtype)
        self.key = key

    def blocks(self, rows: int) -> Iterator[np.ndarray]:
        yield from self._inner.blocks(rows)

    def info(self) -> dict[str, Any]:
        return {**super().info(), "key": self.key}

    def close(self) -> None:
        self._inner.close()
        self._archive.close()


class NpzSparseReader(SparseReader):
    format = "npz (sparse)"

    def __init__(self, path: str, archive: zipfile.ZipFile, indices: str, values: str,
                 n_classes: int | None) -> None:
        self._archive = archive
        self._idx = _member(archive, path, indices)
        self._val = _member(archive, path, values)
        if self._idx.shape != self._val.shape:
            raise InputError(f"{path}: '{indices}' has shape {self._idx.shape} and "
                             f"'{values}' {self._val.shape}; they must match")
        classes = check_classes(path, _scalar(archive, "n_classes"), n_classes)
        super().__init__(path, self._idx.n_rows, self._idx.n_cols, classes,
                         self._idx.dtype, self._val.dtype)

    def pair_blocks(self, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        yield from zip(self._idx.blocks(rows), self._val.blocks(rows))

    def close(self) -> None:
        self._idx.close()
        self._val.close()
        self._archive.close()
