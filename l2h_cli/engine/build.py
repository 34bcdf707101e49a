"""The library entry point: logits in, Tree out."""

from __future__ import annotations

import math
import os
import re
import warnings
from typing import Any, Sequence

import numpy as np

from ..readers import rawio
from ..errors import InputError, L2HWarning, UsageError
from .kernels import Assignment, first_pass, is_sparse, sparse_dtype
from .merge import AGGREGATES, STRATEGIES, MergeLoop, Progress
from .parallel import BlockPool
from ..readers import ArrayReader, LogitReader, open_logits
from .store import FileRows, MemoryRows, RowSource, SpillRows
from ..trees.tree import Tree

DEFAULT_MEMORY = 2 * 2**30
_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_size(text: str) -> int:
    """'512M', '1G', '1.5GiB', '2000000' -> bytes."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(I?B)?\s*", text.upper())
    if not m:
        raise ValueError(f"cannot read size {text!r}; use a number with K, M or G (e.g. 1G)")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def plan_blocks(values_per_row: int, memory: int, workers: int) -> int:
    """Rows per block so that the blocks in flight (and their float64 temporaries) use about
    a quarter of the memory budget."""
    per_row = values_per_row * 8 * 4 * (2 * workers + 1)
    return int(max(64, min(65536, (memory // 4) // per_row)))


def build_hierarchy(
    source: np.ndarray | LogitReader | str | Sequence[str],
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
    temperature: float = 1.0,
    keep_absent: bool = False,
    key: str | None = None,
    n_classes: int | None = None,
    indices: str | None = None,
    values: str | None = None,
    client: Any = None,
) -> Tree:
    """Build the L2H hierarchy of the K clusters of an N x K logit (or probability) matrix.

    `source` is an array, an open reader, or a path (`.npy`, `.h5`, `.parquet`, `-`).
    When the rows do not fit half of `memory`, the merge loop reads them again: from the input
    file itself when it stores them plainly (a C-ordered .npy, a contiguous HDF5 dataset) and
    `reread` allows it (None: when the file is at most half the RAM, so it stays cached), else
    from a spill file in `tmpdir`.
    With `client` (a dask.distributed Client), the shards of `source` are read and kept on
    the cluster's workers and each step runs where the rows are (l2h_cli.engine.distributed).
    Returns a binary Tree whose merge t makes node K+t at height t+1.

    >>> import numpy as np
    >>> tree = build_hierarchy(np.log([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]]))
    >>> tree.children
    [(2, 0), (1, 3)]
    """
    if input not in ("logits", "probs"):
        raise ValueError(f"input must be 'logits' or 'probs', not {input!r}")
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {list(AGGREGATES)}, not {aggregate!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {list(STRATEGIES)}, not {strategy!r}")
    budget = parse_size(memory) if isinstance(memory, str) else int(memory)
    if client is not None:
        if not isinstance(source, (str, list, tuple)):
            raise ValueError("a build on a Dask cluster reads files: give a path, a folder, a "
                             "glob or a list of paths that every worker can read")
        from .distributed import build_on_dask
        tree, figures = build_on_dask(
            source, client, dict(dataset=dataset, column=column, key=key, n_classes=n_classes,
                                 indices=indices, values=values),
            input=input, aggregate=aggregate, strategy=strategy, temperature=temperature,
            keep_absent=keep_absent, names=names, progress=progress)
        tree.meta["dask"] = figures
        return tree
    if isinstance(source, LogitReader):
        reader, owned = source, False
    elif isinstance(source, str):
        reader, owned = open_logits(source, dataset, column, key=key, n_classes=n_classes,
                                    indices=indices, values=values), True
    else:
        reader, owned = ArrayReader(source), True
    if not temperature > 0 or not math.isfinite(temperature):
        raise ValueError(f"temperature must be a positive number, not {temperature!r}")
    try:
        return _build(reader, input, aggregate, strategy, names, budget, chunk_rows, workers,
                      tmpdir, reread, progress, float(temperature), keep_absent)
    finally:
        if owned:
            reader.close()


def _build(reader: LogitReader, input: str, aggregate: str, strategy: str,
           names: Sequence[str] | None, budget: int, chunk_rows: int | None,
           workers: int | None, tmpdir: str | None, reread: bool | None,
           progress: Progress | None, temperature: float, keep_absent: bool) -> Tree:
    n, k = reader.shape
    if names is not None and len(names) != k:
        raise InputError(f"{len(names)} names for {k} clusters")
    if strategy == "all-pairs" and 8 * k * k > budget:
        raise UsageError(f"the all-pairs strategy keeps a {k} x {k} table of relations, "
                         f"{8 * k * k / 2**20:.3g} MiB, more than the memory budget of "
                         f"{budget / 2**20:.3g} MiB", option="memory")
    floor = minimum_memory(n, reader.values_per_row)
    if budget < floor:
        warnings.warn(f"a memory budget of {budget / 2**20:.0f} MiB is below what this build "
                      f"needs at least (about {floor / 2**20:.0f} MiB: the libraries, and "
                      f"per-point state for {n} points); it will use more", L2HWarning,
                      stacklevel=3)
    report = progress or (lambda stage, done, total: None)
    transform = input == "probs" or temperature != 1
    with BlockPool(workers) as pool:
        rows = chunk_rows or plan_blocks(reader.values_per_row, budget, pool.workers)
        store = _make_store(reader, transform, budget, tmpdir, reread)
        with store:
            parts: list[Assignment] = []
            present = np.zeros(k, dtype=bool)
            done = 0

            def scan(item: tuple[int, np.ndarray]) -> tuple[np.ndarray, Assignment, np.ndarray]:
                return first_pass(item[1], item[0], reader.path, k, input, temperature)

            for block, part, finite in pool.map(scan, _numbered(reader.blocks(rows))):
                store.add(block, part.cluster)
                present |= finite
                # The argmax is kept once, by the store.
                parts.append(part._replace(cluster=None))
                done += len(block)
                report("read", done, n)
            if done != n:
                raise InputError(f"{reader.path}: expected {n} rows, read {done}")
            store.finish()
            conf, runner, share, others = (np.concatenate([getattr(p, f) for p in parts])
                                           for f in ("confidence", "runner_up", "share",
                                                     "others"))
            del parts
            counts, conf_sum = cluster_sums_of(store, conf, k)
            columns = np.arange(k) if keep_absent else np.flatnonzero(present)
            loop = MergeLoop(store, counts, conf_sum, columns, pool, rows, conf, progress,
                             runner_up=(runner, share), others=others)
            merges = loop.run(aggregate, strategy)
            # Rows read back during the loop must be the rows of the first pass.
            reader.check_unchanged()
    return finish_tree(merges, loop, counts, columns, present, k, keep_absent, names,
                       meta={"aggregate": aggregate, "strategy": strategy, "n_points": n,
                             "input": input, "temperature": temperature})


def finish_tree(merges: list, loop: MergeLoop, counts: np.ndarray, columns: np.ndarray,
                present: np.ndarray, k: int, keep_absent: bool,
                names: Sequence[str] | None, meta: dict) -> Tree:
    """The Tree of a finished merge loop: leaves are the kept columns, in column order."""
    absent = np.flatnonzero(~present)
    if absent.size and not keep_absent:
        warnings.warn(f"{absent.size} column(s) have no finite logit in any row (first: "
                      f"{', '.join(map(str, absent[:5]))}); they are left out of the tree",
                      L2HWarning, stacklevel=3)
    kept = len(columns)
    leaf_names = [names[c] for c in columns] if names is not None else \
        [str(c) for c in columns]
    return Tree(kept, [tuple(m) for m in merges], np.arange(1, kept, dtype=np.float64),
                leaf_names, sizes=counts[columns], confidences=loop.mean_conf,
                columns=columns if kept < k else None,
                absent=np.empty(0, np.int64) if keep_absent else absent,
                merge_stats={key: np.array(v) for key, v in loop.stats.items()}, meta=meta)


#: Bytes a build holds per point whatever the budget (argmax, confidence, runner-up and its
#: share, the cluster index, the outside mass and its bound), and the resident size of the
#: interpreter and libraries.
PER_POINT_BYTES = 56
BASE_BYTES = 160 * 2**20


def minimum_memory(n_rows: int, values_per_row: int) -> int:
    """About the least a build can take, in bytes."""
    return (BASE_BYTES + n_rows * PER_POINT_BYTES
            + plan_blocks(values_per_row, 0, 2) * values_per_row * 8 * 4 * 5)


def _make_store(reader: LogitReader, transform: bool, budget: int, tmpdir: str | None,
                reread: bool | None) -> RowSource:
    """Rows in memory when they fit half the budget left after the per-point state; else read
    back from the input file when it stores them plainly, as they are used (and, unless
    `reread` is True, is small enough to stay in the page cache: at most half the RAM); else
    spilled to a temporary file in runs of
    a sixteenth of the budget (two are staged at a time). `transform`: the rows are changed
    on reading (probabilities, a temperature), so they are kept in float64."""
    n = reader.n_rows
    width, dtype = reader.row_width, reader.row_dtype
    if transform:
        dtype = sparse_dtype(dtype["idx"].shape[0], np.float64) if is_sparse(dtype) \
            else np.dtype(np.float64)
    elif not is_sparse(dtype) and dtype not in (np.float32, np.float64):
        dtype = np.dtype(np.float64)
    row_bytes = width * dtype.itemsize
    run_bytes = max(budget // 16, row_bytes)
    # Half the budget for rows, after the per-point state every build keeps.
    if n * row_bytes <= (budget - n * PER_POINT_BYTES) // 2:
        return MemoryRows(n, width, dtype, n_clusters=reader.n_cols)
    raw = reader.raw_rows() if not transform and reread is not False and rawio.supported() \
        else None
    if raw is not None and raw.dtype == dtype and (reread or n * row_bytes <= _ram() // 2):
        return FileRows(n, width, dtype, raw, n_clusters=reader.n_cols)
    if reread:
        warnings.warn(f"{reader.path}: its rows cannot be read back by position (only a "
                      "C-ordered .npy or a contiguous, unfiltered HDF5 dataset can); using a "
                      "spill file", L2HWarning, stacklevel=4)
    return SpillRows(n, width, dtype, run_bytes=run_bytes, tmpdir=tmpdir,
                     n_clusters=reader.n_cols)


def _ram() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def cluster_sums_of(store: Any, conf: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Points and exactly rounded confidence sums per cluster: independent of how the input
    was cut into blocks, so every input format gives the same tree."""
    counts = np.bincount(store.labels(), minlength=k).astype(np.int64)
    sums = np.zeros(k)
    for c in np.flatnonzero(counts):
        sums[c] = math.fsum(conf[store.points([c])])
    return counts, sums


def _numbered(blocks):
    start = 0
    for block in blocks:
        yield start, block
        start += len(block)
