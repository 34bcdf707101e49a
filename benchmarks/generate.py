"""Write seeded hierarchical logits of any N x K to .npy, .h5 or .parquet without holding the
matrix (l2h_cli.synthetic, block by block).

    python benchmarks/generate.py 1281167 1000 data/imagenet_like.npy [.h5] [.parquet]
"""

from __future__ import annotations

import sys
from pathlib import Path

from numpy.lib import format as npformat

from l2h_cli.synthetic import hierarchical_blocks


def factor(k: int) -> tuple[int, int]:
    """groups x per_group = k, with groups close to sqrt(k)."""
    groups = max(g for g in range(1, int(k ** 0.5) + 1) if k % g == 0)
    return groups, k // groups


def blocks(n: int, k: int, seed: int):
    groups, per_group = factor(k)
    for z, _, _ in hierarchical_blocks(n, groups, per_group, seed=seed):
        yield z


def write(path: str, n: int, k: int, seed: int = 0) -> None:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    ext = out.suffix.lower()
    if ext == ".npy":
        with open(tmp, "wb") as fh:
            npformat.write_array_header_1_0(fh, {"descr": "<f4", "fortran_order": False,
                                                 "shape": (n, k)})
            for z in blocks(n, k, seed):
                fh.write(z.tobytes())
    elif ext in (".h5", ".hdf5"):
        import h5py
        with h5py.File(tmp, "w") as f:
            # Contiguous layout: what `f["logits"] = array` gives users by default.
            dset = f.create_dataset("logits", shape=(n, k), dtype="f4")
            start = 0
            for z in blocks(n, k, seed):
                dset[start:start + len(z)] = z
                start += len(z)
    elif ext == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq
        schema = pa.schema([("logits", pa.list_(pa.float32(), k))])
        with pq.ParquetWriter(tmp, schema, compression="none") as writer:
            for z in blocks(n, k, seed):
                arr = pa.FixedSizeListArray.from_arrays(pa.array(z.reshape(-1)), k)
                writer.write_table(pa.table({"logits": arr}), row_group_size=len(z))
    else:
        raise SystemExit(f"unknown extension {ext}")
    tmp.replace(out)


if __name__ == "__main__":
    n, k = int(sys.argv[1]), int(sys.argv[2])
    for p in sys.argv[3:]:
        write(p, n, k)
        print(f"wrote {p}")
