"""Write seeded sparse (top-k) logits: N rows of k (column, value) pairs over K classes, as
.npz (indices, values, n_classes) or Parquet (two list columns, n_classes in the schema's
metadata), block by block.

    python benchmarks/generate_topk.py 2000000 131072 32 data/topk.parquet

A point's true class (popularity Zipf-distributed) gets the highest logit; its other k - 1
entries are classes near it (within 128), so the tree has structure to find.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

BLOCK = 100_000
GROUP = 64  # neighbours are drawn from 2 * GROUP classes around the true one


def blocks(n: int, K: int, k: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    popularity = rng.zipf(1.2, size=K).astype(np.float64)
    popularity /= popularity.sum()
    for start in range(0, n, BLOCK):
        m = min(BLOCK, n - start)
        true = rng.choice(K, size=m, p=popularity)
        # k - 1 distinct neighbours of the true class (offsets 1..2 * GROUP - 1, wrapping).
        span = 2 * GROUP
        offsets = np.argsort(rng.random((m, span - 1)), axis=1)[:, :k - 1] + 1
        idx = np.empty((m, k), dtype=np.int64)
        idx[:, 0] = true
        idx[:, 1:] = (true[:, None] + offsets) % K
        values = np.sort(rng.gumbel(size=(m, k)), axis=1)[:, ::-1] * 2.0
        values[:, 0] += rng.exponential(2.0, size=m)
        yield idx.astype(np.int32), values.astype(np.float32)


def write(path: str, n: int, K: int, k: int) -> None:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    parts = list(blocks(n, K, k)) if out.suffix == ".npz" else None
    if out.suffix == ".npz":
        np.savez(out, indices=np.concatenate([p[0] for p in parts]),
                 values=np.concatenate([p[1] for p in parts]), n_classes=K)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq
    schema = pa.schema([("indices", pa.list_(pa.int32(), k)), ("values", pa.list_(pa.float32(), k))],
                       metadata={"n_classes": str(K)})
    with pq.ParquetWriter(out, schema, compression="none") as writer:
        for idx, val in blocks(n, K, k):
            writer.write_table(pa.table({
                "indices": pa.FixedSizeListArray.from_arrays(pa.array(idx.reshape(-1)), k),
                "values": pa.FixedSizeListArray.from_arrays(pa.array(val.reshape(-1)), k)},
                schema=schema))


if __name__ == "__main__":
    write(sys.argv[4], int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
