"""Several files as one matrix: the rows of the shards concatenated in sorted path order.

INPUT may be a directory (every logit file under it, recursively: a partitioned Parquet
dataset works), a glob pattern, or a list of paths. Every shard must have the same number of
columns and be dense or sparse alike; sparse shards with fewer entries a row are padded.
"""

from __future__ import annotations

import glob
import os
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..errors import InputError, UsageError
from .base import LogitReader, file_identity
from .sparse import sparse_dtype, sparse_fields

GLOB_CHARS = "*?["


def shard_paths(spec: str | Sequence[str], extensions: Sequence[str]) -> list[str] | None:
    """The sorted shard paths `spec` stands for, or None when it is one plain file."""
    if not isinstance(spec, str):
        return sorted(str(p) for p in spec)
    if os.path.isdir(spec):
        found = [os.path.join(root, name) for root, _, names in os.walk(spec) for name in names
                 if os.path.splitext(name)[1].lower() in extensions
                 and not name.startswith((".", "_"))]
        if not found:
            raise UsageError(f"{spec}: a directory without logit files "
                             f"({', '.join(sorted(extensions))})")
        return sorted(found)
    if not os.path.exists(spec) and any(ch in spec for ch in GLOB_CHARS):
        found = sorted(p for p in glob.glob(spec, recursive=True) if os.path.isfile(p))
        if not found:
            raise UsageError(f"{spec}: no file matches")
        return found
    return None


class ShardedReader(LogitReader):
    """The shards read one after another; each is opened only while it is read."""

    format = "shards"

    def __init__(self, paths: Sequence[str], open_one: Callable[[str], LogitReader]) -> None:
        self.paths = list(paths)
        self._open = open_one
        self.shard_rows: list[int] = []
        dtypes: list[np.dtype] = []
        identities: list[tuple[int, ...] | None] = []
        first: tuple[int, bool] | None = None
        self.k = 0
        for path in self.paths:
            with open_one(path) as shard:
                if first is None:
                    first = (shard.n_cols, shard.sparse)
                    self.sparse = shard.sparse
                elif shard.n_cols != first[0] or shard.sparse != first[1]:
                    raise InputError(f"{path}: {shard.n_cols} "
                                     f"{'sparse ' if shard.sparse else ''}columns, but the "
                                     f"first shard {self.paths[0]} has {first[0]}"
                                     f"{' sparse' if first[1] else ''}")
                if shard.dtype.kind not in "iuf":
                    raise InputError(f"{path}: dtype {shard.dtype} is not numeric")
                dtypes.append(shard.dtype)
                self.k = max(self.k, getattr(shard, "k", 0))
                self.shard_rows.append(shard.n_rows)
                identities.append(shard._identity)
        super().__init__(f"{self.paths[0]} (+{len(self.paths) - 1} shards)",
                         sum(self.shard_rows), first[0], np.result_type(*dtypes))
        self._identities = identities

    @property
    def row_dtype(self) -> np.dtype:
        if not self.sparse:
            return self.dtype
        return sparse_dtype(self.k, self.dtype if self.dtype in (np.float32, np.float64)
                            else np.float64)

    @property
    def row_width(self) -> int:
        return 1 if self.sparse else self.n_cols

    @property
    def values_per_row(self) -> int:
        return 2 * self.k if self.sparse else self.n_cols

    def default_block_rows(self, target_bytes: int = 16 * 2**20) -> int:
        return max(1, target_bytes // max(1, self.values_per_row * 8))

    def blocks(self, rows: int) -> Iterator[np.ndarray]:
        for path, expected in zip(self.paths, self.shard_rows):
            with self._open(path) as shard:
                got = 0
                for block in shard.blocks(rows):
                    got += len(block)
                    yield self._common(block)
                if got != expected:
                    raise InputError(f"{path}: expected {expected} rows, read {got}")

    def _common(self, block: np.ndarray) -> np.ndarray:
        """A shard's block in the dtype (and, sparse, the width) shared by all shards."""
        if not self.sparse:
            return block if block.dtype == self.dtype else block.astype(self.dtype)
        if block.dtype == self.row_dtype:
            return block
        cols, vals = sparse_fields(block)
        out = np.empty((len(block), 1), dtype=self.row_dtype)
        out["idx"][:, 0, :cols.shape[1]] = cols
        out["val"][:, 0, :cols.shape[1]] = vals
        out["idx"][:, 0, cols.shape[1]:] = -1
        out["val"][:, 0, cols.shape[1]:] = -np.inf
        return out

    def check_unchanged(self) -> None:
        for path, identity in zip(self.paths, self._identities):
            if identity is not None and file_identity(path) != identity:
                raise InputError(f"{path}: the file changed while it was being read; "
                                 "nothing was written")

    def info(self) -> dict[str, Any]:
        out = super().info()
        out.update(shards=len(self.paths), first_shard=self.paths[0], last_shard=self.paths[-1],
                   sparse=self.sparse)
        return out
