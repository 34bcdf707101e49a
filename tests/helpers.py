"""Shared test helpers: run the real command, write one matrix in every supported layout."""

from __future__ import annotations

import os
import subprocess
import sys

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def run_l2h(*args: str, stdin: bytes | None = None, cwd: str | None = None
            ) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "l2h_cli", *args], input=stdin,
                          capture_output=True, cwd=cwd, env=env, timeout=300)


def write_all_layouts(z: np.ndarray, folder) -> dict[str, str]:
    """The matrix as .npy, .h5 (chunked and compressed; and contiguous), and three Parquet
    layouts."""
    n, k = z.shape
    paths = {}
    paths["npy"] = str(folder / "z.npy")
    np.save(paths["npy"], z)
    paths["h5"] = str(folder / "z.h5")
    with h5py.File(paths["h5"], "w") as f:
        f.create_dataset("logits", data=z, chunks=(max(1, min(n, 7)), max(1, min(k, 3))),
                         compression="gzip")
        f.create_dataset("labels", data=np.arange(n) % 3)
    paths["h5_flat"] = str(folder / "flat.h5")
    with h5py.File(paths["h5_flat"], "w") as f:
        f.create_dataset("logits", data=z)
    flat = pa.array(z.reshape(-1))
    paths["pq_fixed"] = str(folder / "fixed.parquet")
    pq.write_table(pa.table({"logits": pa.FixedSizeListArray.from_arrays(flat, k)}),
                   paths["pq_fixed"], row_group_size=max(1, n // 3))
    paths["pq_list"] = str(folder / "list.parquet")
    offsets = pa.array(np.arange(0, n * k + 1, k, dtype=np.int32))
    pq.write_table(pa.table({"id": pa.array(np.arange(n)),
                             "logits": pa.ListArray.from_arrays(offsets, flat)}),
                   paths["pq_list"], row_group_size=max(1, n // 2))
    paths["pq_cols"] = str(folder / "cols.parquet")
    pq.write_table(pa.table({f"c{j}": pa.array(z[:, j]) for j in range(k)}), paths["pq_cols"])
    return paths


def l2h_main(capfdbinary, *args: str) -> tuple[int, bytes, bytes]:
    """Run the command line in this process (much faster than a new interpreter): exit code,
    stdout, stderr. Signal handlers and warning filters are put back afterwards."""
    import signal
    import warnings

    from l2h_cli import cli

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    argv, show = sys.argv, warnings.showwarning
    sys.argv = ["l2h", *args]
    capfdbinary.readouterr()
    try:
        with warnings.catch_warnings():
            try:
                cli.main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv, warnings.showwarning = argv, show
        for s, h in handlers.items():
            signal.signal(s, h)
    out, err = capfdbinary.readouterr()
    return code, out, err


def snapshot(folder) -> dict[str, tuple[int, bytes]]:
    """Every file under `folder` with its inode and content, to show nothing was touched."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            if os.path.isfile(path):
                with open(path, "rb") as fh:
                    out[os.path.relpath(path, folder)] = (os.stat(path).st_ino, fh.read())
    return out
