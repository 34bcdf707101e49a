"""The reads an exact build of a dense .npy cannot avoid, timed alone against the bare pass.

Given the file and the tree `l2h build` made of it, this reads, with nothing computed:
- every row once, in blocks (the first pass);
- every row once more when the tree has empty clusters (their rule needs every point's
  probabilities of the empty columns);
- at every step whose `low` group has two leaves or more, the row of each of its points
  (step 2 needs each point's logits outside `low`; a single leaf's points are answered by
  the first pass), one positional read per run of consecutive rows, as the build does.

Rows are read by the build's own routine into a small kept buffer (they are not kept: the
budget of the benchmarks, 1 GiB, holds a quarter of either file at most), on one thread,
and on two threads splitting each step in halves as the build does. The sum is a floor for the build on this machine: the
build also starts Python and numba, takes 1.1 billion exponentials in its first pass, and
computes on every row it reads.

    python benchmarks/read_floor.py FILE.npy TREE.json
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from numba import njit

from l2h_cli import load_tree
from l2h_cli.engine.kernels import FILE_RUN_ROWS
from l2h_cli.engine.kernels_numba import _read_run


@njit(nogil=True)
def read_rows(fd, offset, positions, buf):
    """Read the rows at `positions` with the build's own reader (one pread per run of
    consecutive positions, at most the rows of `buf`); the number of reads."""
    i, calls = 0, 0
    while i < positions.shape[0]:
        i = _read_run(fd, offset, positions, i, buf)
        if i < 0:
            raise OSError("short read")
        calls += 1
    return calls


def labels_of(matrix: np.ndarray, rows: int = 4096) -> np.ndarray:
    return np.concatenate([np.argmax(matrix[s:s + rows], axis=1)
                           for s in range(0, len(matrix), rows)])


def step_points(path: str, tree_path: str) -> tuple[list[np.ndarray], bool]:
    """The points each step reads (by cluster in low's order, then by row), and whether the
    tree has empty clusters."""
    matrix = np.load(path, mmap_mode="r")
    tree = load_tree(tree_path)
    labels = labels_of(matrix)
    columns = tree.columns if tree.columns is not None else np.arange(tree.n_leaves)
    leaf_of = np.full(matrix.shape[1], -1)
    leaf_of[columns] = np.arange(tree.n_leaves)
    point_leaf = leaf_of[labels]
    order = np.argsort(point_leaf, kind="stable")
    starts = np.concatenate(([0], np.cumsum(np.bincount(point_leaf,
                                                        minlength=tree.n_leaves))))
    leaves: dict[int, list[int]] = {i: [i] for i in range(tree.n_leaves)}
    steps = []
    for t, (low, best) in enumerate(tree.children):
        low_leaves = leaves.pop(low)
        if len(low_leaves) > 1:
            steps.append(np.concatenate([order[starts[c]:starts[c + 1]] for c in low_leaves]))
        leaves[tree.n_leaves + t] = low_leaves + leaves.pop(best)
    empty = bool((np.diff(starts) == 0).any())
    return steps, empty


def warm(path: str) -> None:
    with open(path, "rb") as fh:
        while fh.read(1 << 24):
            pass


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    path, tree_path = sys.argv[1], sys.argv[2]
    steps, empty = step_points(path, tree_path)
    matrix = np.load(path, mmap_mode="r")
    n, k = matrix.shape
    offset = int(matrix.offset)
    fd = os.open(path, os.O_RDONLY)
    block = np.empty((max(1, (8 << 20) // (4 * k)), k), dtype=np.float32)
    # The loop's reads go through a buffer of FILE_RUN_ROWS rows per thread, as in the build.
    buffers = [np.empty((FILE_RUN_ROWS, k), dtype=np.float32) for _ in range(2)]
    read_rows(fd, offset, np.arange(2, dtype=np.int64), buffers[0])
    every = np.arange(n, dtype=np.int64)
    reads = sum(len(s) for s in steps)

    def one_thread() -> None:
        for pts in steps:
            read_rows(fd, offset, pts, buffers[0])

    def two_threads() -> None:
        with ThreadPoolExecutor(1) as pool:  # this thread takes the other half
            for pts in steps:
                half = len(pts) // 2
                if half:
                    other = pool.submit(read_rows, fd, offset, pts[half:], buffers[1])
                    read_rows(fd, offset, pts[:half], buffers[0])
                    other.result()
                else:
                    read_rows(fd, offset, pts, buffers[0])

    bare_pass = [sys.executable, str(Path(__file__).with_name("bare_pass.py")), path]
    parts = [("bare pass (its own process)",
              lambda: subprocess.run(bare_pass, check=True, capture_output=True)),
             ("first pass: every row, in blocks", lambda: read_rows(fd, offset, every, block))]
    if empty:
        parts.append(("empty-cluster rule: every row",
                      lambda: read_rows(fd, offset, every, buffers[0])))
    parts += [(f"loop: {reads:,} rows ({reads / n:.2f} a point), one thread", one_thread),
              ("loop, two threads", two_threads)]
    figures = {}
    for name, fn in parts:
        warm(path)
        figures[name] = timed(fn)
    bare = figures["bare pass (its own process)"]
    loop = min(figures[key] for key in figures if key.startswith("loop"))
    floor = sum(v for key, v in figures.items() if key.startswith(("first", "empty"))) + loop
    print(f"{Path(path).name}: {n:,} x {k:,}")
    for name, seconds in figures.items():
        print(f"  {name:<48} {seconds:6.2f} s  {seconds / bare:5.1f}x the bare pass")
    print(f"  {'reads alone (first pass + rule + faster loop)':<48} {floor:6.2f} s  "
          f"{floor / bare:5.1f}x the bare pass")


if __name__ == "__main__":
    main()
