"""The per-block arithmetic of L2H: what one pass over a row block computes.

Exponentials are summed in float64 after shifting by the row's (restricted) maximum, so no
probability is ever obtained as one minus another.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from .errors import InputError
from .rawio import RowReader, take_rows

#: "numba" when the compiled kernels are installed (pip install l2h[fast]), else "numpy";
#: tests switch it.
BACKEND = "numba" if importlib.util.find_spec("numba") is not None \
    and os.environ.get("L2H_KERNELS") != "numpy" else "numpy"


@functools.cache
def _kernels() -> ModuleType | None:
    """The compiled kernels, imported on first use: importing numba takes a third of a second,
    which the commands that never call a kernel (evaluate, cut, show...) need not pay. None
    (and the NumPy kernels from then on) when numba is installed but cannot be imported."""
    global BACKEND
    try:
        from . import kernels_numba
    except ImportError:
        BACKEND = "numpy"
        return None
    return kernels_numba


def _compiled_for(dtype: np.dtype) -> ModuleType | None:
    """The compiled kernels when they are in use and take this dtype, else None."""
    return _kernels() if BACKEND == "numba" and dtype in _COMPILED_TYPES else None


def __getattr__(name: str) -> Any:
    if name == "_compiled":  # the compiled module, or None (for tests)
        return _kernels()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Below this gap to the row max (in nats), a runner-up's share is computed with its own shift
#: rather than from exponentials taken at the row max, which would be near float64's bottom.
DEEP = -600.0

_COMPILED_TYPES = (np.dtype(np.float32), np.dtype(np.float64))

#: Consecutive rows read from a file in one go by the compiled kernel (64 KiB at K = 1000 float32).
FILE_RUN_ROWS = 16

#: Rows of probabilities must sum to 1 within this tolerance.
PROB_TOLERANCE = 1e-3


def check_logits(block: np.ndarray, start: int, path: str) -> None:
    if block.dtype.kind != "f":
        return
    bad = np.isnan(block) | np.isposinf(block)
    if bad.any():
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        value = block[row][bad[row]][0]
        raise InputError(f"{path}: row {start + row} has a {value} logit "
                         "(NaN and +inf are not allowed; -inf is)")


def probs_to_logits(block: np.ndarray, start: int, path: str) -> np.ndarray:
    """Validate rows of probabilities and take their log (log 0 = -inf)."""
    p = block if block.dtype.kind == "f" else block.astype(np.float64)
    bad = ~np.isfinite(p) | (p < 0)
    if bad.any():
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        raise InputError(f"{path}: row {start + row} has a probability that is negative, "
                         "NaN or infinite")
    sums = p.sum(axis=1, dtype=np.float64)
    off = np.abs(sums - 1.0) > PROB_TOLERANCE
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise InputError(f"{path}: row {start + row} sums to {sums[row]:.6g}, not 1 "
                         f"(within {PROB_TOLERANCE}); are these logits?", option="input")
    with np.errstate(divide="ignore"):
        return np.log(p)


class Assignment(NamedTuple):
    """What the first pass learns about each row of a block."""
    cluster: np.ndarray      # argmax (ties: lowest index)
    confidence: np.ndarray   # softmax probability of the argmax
    runner_up: np.ndarray    # argmax of the other columns, -1 when they are all -inf
    share: np.ndarray        # its softmax probability among the other columns


def assign(block: np.ndarray, start: int, path: str) -> Assignment:
    """Argmax, confidence, runner-up and its share of every row.

    The runner-up and share are SPEC steps 2-3 for a point whose own cluster is `low` on its
    own, so the merge loop never re-reads the points of a single cluster.
    Also rejects NaN, +inf, and rows whose logits are all -inf."""
    compiled = _compiled_for(block.dtype)
    if compiled is not None:
        a, conf, runner, share, bad, kind = compiled.assign(block, DEEP)
        if bad < 0:
            return Assignment(a, conf, runner, share)
        if kind == 1:
            check_logits(block[bad:bad + 1], start + bad, path)
        raise InputError(f"{path}: row {start + bad} has no finite logit (all are -inf)")
    check_logits(block, start, path)
    rows = np.arange(len(block))
    a = np.argmax(block, axis=1)
    top = block[rows, a].astype(np.float64)
    if np.isneginf(top).any():
        row = int(np.flatnonzero(np.isneginf(top))[0])
        raise InputError(f"{path}: row {start + row} has no finite logit (all are -inf)")
    shifted = block.astype(np.float64)
    shifted -= top[:, None]
    shifted[rows, a] = -np.inf
    runner = np.argmax(shifted, axis=1).astype(np.int32)
    gap = shifted[rows, runner]
    np.exp(shifted, out=shifted)
    # The others summed on their own, then the argmax's exp(0) = 1 added: no probability is
    # ever one minus another.
    others = shifted.sum(axis=1)
    conf = 1.0 / (1.0 + others)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.exp(gap) / others
    dead = np.isneginf(gap)
    runner[dead], share[dead] = -1, 0.0
    # Where exp(gap) is near the bottom of float64, shift by the runner-up instead.
    for i in np.flatnonzero((gap <= DEEP) & ~dead):
        z = block[i].astype(np.float64)
        z[a[i]] = -np.inf
        share[i] = 1.0 / np.exp(z - z[runner[i]]).sum()
    return Assignment(a, conf, runner, share)


def restricted_mass(rows: np.ndarray | RowReader, points: np.ndarray, keep: np.ndarray,
                    n_clusters: int) -> np.ndarray:
    """SPEC steps 2-3 for the rows `points` of `rows` (a matrix, or a RowReader over a file):
    softmax over the columns `keep` (sorted), mass per cluster, summed in the order of `points`.

    Rows whose kept logits are all -inf contribute nothing.
    """
    compiled = _compiled_for(rows.dtype)
    if compiled is not None:
        mask = np.zeros(n_clusters, dtype=bool)
        mask[keep] = True
        if isinstance(rows, np.ndarray):
            return compiled.restricted_mass(rows, points, mask)
        # A small buffer, so each row is used while it is still in cache.
        buf = np.empty((FILE_RUN_ROWS, rows.n_cols), dtype=rows.dtype)
        mass, status = compiled.restricted_mass_file(rows.fd, rows.offset, rows.where(points),
                                                     mask, buf)
        if status < 0:
            raise rows.error()
        return mass
    block = take_rows(rows, points)
    sub = block[:, keep] if len(keep) < block.shape[1] else block
    r = np.argmax(sub, axis=1)
    top = sub[np.arange(len(sub)), r].astype(np.float64)
    live = ~np.isneginf(top)
    e = sub.astype(np.float64)
    with np.errstate(invalid="ignore"):  # rows with no live column: -inf - -inf, dropped below
        e -= top[:, None]
        np.exp(e, out=e)
    w = 1.0 / e.sum(axis=1)
    return np.bincount(keep[r[live]], weights=w[live], minlength=n_clusters)


def column_mass(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Total softmax probability the rows give each of `columns`."""
    compiled = _compiled_for(rows.dtype)
    if compiled is not None:
        return compiled.column_mass(rows, columns)
    shifted = rows.astype(np.float64)
    shifted -= shifted.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    return (shifted[:, columns] / shifted.sum(axis=1, keepdims=True)).sum(axis=0)
