"""The library entry point: logits in, Tree out."""

from __future__ import annotations

import math
import os
import re
import warnings
from typing import Sequence

import numpy as np

from . import rawio
from .errors import InputError, L2HWarning
from .kernels import Assignment, assign, probs_to_logits
from .merge import AGGREGATES, STRATEGIES, MergeLoop, Progress
from .parallel import BlockPool
from .readers import ArrayReader, LogitReader, open_logits
from .store import RowStore
from .tree import Tree

DEFAULT_MEMORY = 2 * 2**30
_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_size(text: str) -> int:
    """'512M', '1G', '1.5GiB', '2000000' -> bytes."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(I?B)?\s*", text.upper())
    if not m:
        raise ValueError(f"cannot read size {text!r}; use a number with K, M or G (e.g. 1G)")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def plan_blocks(n_cols: int, memory: int, workers: int) -> int:
    """Rows per block so that the blocks in flight (and their float64 temporaries) use about
    a quarter of the memory budget."""
    per_row = n_cols * 8 * 4 * (2 * workers + 1)
    return int(max(64, min(65536, (memory // 4) // per_row)))


def build_hierarchy(
    source: np.ndarray | LogitReader | str,
    *,
    input: str = "logits",
    aggregate: str = "sum",
    strategy: str = "lowest",
    names: Sequence[str] | None = None,
    memory: int | str = DEFAULT_MEMORY,
    chunk_rows: int | None = None,
    workers: int | None = None,
    dataset: str | None = None,
    column: str | None = None,
    tmpdir: str | None = None,
    reread: bool | None = None,
    progress: Progress | None = None,
) -> Tree:
    """Build the L2H hierarchy of the K clusters of an N x K logit (or probability) matrix.

    `source` is an array, an open reader, or a path (`.npy`, `.h5`, `.parquet`, `-`).
    When the rows do not fit half of `memory`, the merge loop reads them again: from the input
    file itself when it stores them plainly (a C-ordered .npy, a contiguous HDF5 dataset) and
    `reread` allows it (None: when the file is at most half the RAM, so it stays cached), else
    from a spill file in `tmpdir`.
    Returns a binary Tree whose merge t makes node K+t at height t+1.
    """
    if input not in ("logits", "probs"):
        raise ValueError(f"input must be 'logits' or 'probs', not {input!r}")
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {list(AGGREGATES)}, not {aggregate!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {list(STRATEGIES)}, not {strategy!r}")
    budget = parse_size(memory) if isinstance(memory, str) else int(memory)
    if isinstance(source, LogitReader):
        reader, owned = source, False
    elif isinstance(source, str):
        reader, owned = open_logits(source, dataset=dataset, column=column), True
    else:
        reader, owned = ArrayReader(source), True
    try:
        return _build(reader, input, aggregate, strategy, names, budget, chunk_rows, workers,
                      tmpdir, reread, progress)
    finally:
        if owned:
            reader.close()


def _build(reader: LogitReader, input: str, aggregate: str, strategy: str,
           names: Sequence[str] | None, budget: int, chunk_rows: int | None,
           workers: int | None, tmpdir: str | None, reread: bool | None,
           progress: Progress | None) -> Tree:
    n, k = reader.shape
    if names is not None and len(names) != k:
        raise InputError(f"{len(names)} names for {k} clusters")
    floor = minimum_memory(n, k)
    if budget < floor:
        warnings.warn(f"a memory budget of {budget / 2**20:.0f} MiB is below what this build "
                      f"needs at least (about {floor / 2**20:.0f} MiB: the libraries, and "
                      f"per-point state for {n} points); it will use more", L2HWarning,
                      stacklevel=3)
    report = progress or (lambda stage, done, total: None)
    with BlockPool(workers) as pool:
        rows = chunk_rows or plan_blocks(k, budget, pool.workers)
        store = _make_store(reader, input, budget, tmpdir, reread)
        with store:
            parts: list[Assignment] = []
            done = 0

            def scan(item: tuple[int, np.ndarray]) -> tuple[np.ndarray, Assignment]:
                start, block = item
                if input == "probs":
                    block = probs_to_logits(block, start, reader.path)
                return block, assign(block, start, reader.path)

            for block, part in pool.map(scan, _numbered(reader.blocks(rows))):
                store.add(block, part.cluster)
                # The argmax is kept once, by the store.
                parts.append(part._replace(cluster=None))
                done += len(block)
                report("read", done, n)
            if done != n:
                raise InputError(f"{reader.path}: expected {n} rows, read {done}")
            conf, runner, share = (np.concatenate([getattr(p, f) for p in parts])
                                   for f in ("confidence", "runner_up", "share"))
            del parts
            counts, conf_sum = _cluster_sums(store, conf, k)
            del conf
            loop = MergeLoop(store, counts, conf_sum, pool, rows, progress,
                             runner_up=(runner, share))
            merges = loop.run(aggregate, strategy)
            # Rows read back during the loop must be the rows of the first pass.
            reader.check_unchanged()
    children = [tuple(m) for m in merges]
    return Tree(k, children, np.arange(1, k, dtype=np.float64), list(names or []),
                sizes=counts, confidences=loop.mean_conf,
                meta={"aggregate": aggregate, "strategy": strategy, "n_points": n,
                      "input": input})


#: Bytes a build holds per point whatever the budget (argmax, confidence, runner-up and its
#: share, the cluster index), and the resident size of the interpreter and libraries.
PER_POINT_BYTES = 40
BASE_BYTES = 160 * 2**20


def minimum_memory(n_rows: int, n_cols: int) -> int:
    """About the least a build of an n_rows x n_cols matrix can take, in bytes."""
    return BASE_BYTES + n_rows * PER_POINT_BYTES + plan_blocks(n_cols, 0, 2) * n_cols * 8 * 4 * 5


def _make_store(reader: LogitReader, input: str, budget: int, tmpdir: str | None,
                reread: bool | None) -> RowStore:
    """Rows in memory when they fit half the budget; else read back from the input file when
    it stores them plainly (and, unless `reread` is True, is small enough to stay in the page
    cache: at most half the RAM); else spilled to a temporary file in runs of a sixteenth of the
    budget (two are staged at a time)."""
    n, k = reader.shape
    dtype = reader.dtype if reader.dtype in (np.float32, np.float64) and input == "logits" \
        else np.dtype(np.float64)
    run_bytes = max(budget // 16, k * dtype.itemsize)
    if n * k * dtype.itemsize <= budget // 2:
        return RowStore(n, k, dtype, "memory")
    raw = reader.raw_rows() if input == "logits" and reread is not False and rawio.supported() \
        else None
    if raw is not None and raw.dtype == dtype and (reread or n * k * dtype.itemsize <= _ram() // 2):
        return RowStore(n, k, dtype, "source", source=raw)
    if reread:
        warnings.warn(f"{reader.path}: its rows cannot be read back by position (only a "
                      "C-ordered .npy or a contiguous, unfiltered HDF5 dataset can); using a "
                      "spill file", L2HWarning, stacklevel=4)
    return RowStore(n, k, dtype, "spill", run_bytes=run_bytes, tmpdir=tmpdir)


def _ram() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def _cluster_sums(store: RowStore, conf: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Points and exactly rounded confidence sums per cluster: independent of how the input
    was cut into blocks, so every input format gives the same tree."""
    counts = np.bincount(store.labels(), minlength=k).astype(np.int64)
    return counts, np.array([math.fsum(conf[store.points([c])]) for c in range(k)])


def _numbered(blocks):
    start = 0
    for block in blocks:
        yield start, block
        start += len(block)
