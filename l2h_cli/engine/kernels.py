"""The per-block arithmetic of L2H: what one pass over a row block computes.

Exponentials are summed in float64 after shifting by the row's (restricted) maximum, so no
probability is ever obtained as one minus another.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import threading
from types import ModuleType
from typing import Any, NamedTuple, Sequence

import numpy as np

from ..errors import InputError
from ..readers.rawio import RowReader, take_rows
from ..readers.sparse import is_sparse, sparse_dtype, sparse_fields

#: "numba": the compiled kernels (numba is a dependency). "numpy" (L2H_KERNELS=numpy, or numba
#: failing to import) runs the NumPy versions of the dense arithmetic, a second implementation
#: kept because the tests check one against the other; sparse rows and the bookkeeping
#: kernels are compiled only.
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

_buffers = threading.local()

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
    """Validate rows of probabilities and take their log (log 0 = -inf). Dense rows must sum
    to 1, sparse rows (whose other entries are 0) to at most 1, within PROB_TOLERANCE."""
    sparse = is_sparse(block.dtype)
    if sparse:
        cols, p = sparse_fields(block)
        p = np.where(cols >= 0, p, 0.0)
    else:
        p = block if block.dtype.kind == "f" else block.astype(np.float64)
    bad = ~np.isfinite(p) | (p < 0)
    if bad.any():
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        raise InputError(f"{path}: row {start + row} has a probability that is negative, "
                         "NaN or infinite")
    sums = p.sum(axis=1, dtype=np.float64)
    off = sums - 1.0 > PROB_TOLERANCE if sparse else np.abs(sums - 1.0) > PROB_TOLERANCE
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise InputError(f"{path}: row {start + row} sums to {sums[row]:.6g}, "
                         f"{'more than' if sparse else 'not'} 1 (within {PROB_TOLERANCE}); "
                         "are these logits?", option="input")
    with np.errstate(divide="ignore"):
        logs = np.log(p)
    return with_values(block, logs) if sparse else logs


def scale_logits(block: np.ndarray, temperature: float) -> np.ndarray:
    """Z / T, in float64."""
    if is_sparse(block.dtype):
        return with_values(block, sparse_fields(block)[1] / np.float64(temperature))
    return block / np.float64(temperature)


def with_values(block: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sparse rows with the same columns and new (float64) values."""
    cols = sparse_fields(block)[0]
    out = np.empty((len(block), 1), dtype=sparse_dtype(cols.shape[1], np.float64))
    out["idx"][:, 0] = cols
    out["val"][:, 0] = values
    return out


class Assignment(NamedTuple):
    """What the first pass learns about each row of a block."""
    cluster: np.ndarray      # argmax (ties: lowest index)
    confidence: np.ndarray   # softmax probability of the argmax
    runner_up: np.ndarray    # argmax of the other columns, -1 when they are all -inf
    share: np.ndarray        # its softmax probability among the other columns
    others: np.ndarray       # sum of exp(z - max) over the other columns (1 / conf - 1)


_SPARSE_ERRORS = {1: "a NaN or +inf value (NaN and +inf are not allowed; -inf is)",
                  2: "a column index outside 0..{k1} (and -1 for padding)",
                  3: "the same column twice", 4: "no finite logit (all are -inf or padding)"}


def assign(block: np.ndarray, start: int, path: str, n_classes: int | None = None,
           present: np.ndarray | None = None) -> Assignment:
    """Argmax, confidence, runner-up and its share of every row.

    The runner-up and share are steps 2-3 for a point whose own cluster is `low` on its
    own, so the merge loop never re-reads the points of a single cluster.
    Also rejects NaN, +inf, and rows whose logits are all -inf; and in sparse rows, column
    indices out of range or repeated. `present` (one flag a column, optional): set where
    a row of the block holds a finite logit."""
    if is_sparse(block.dtype):
        compiled = _kernels()
        cols, vals = sparse_fields(block)
        bad, kind = compiled.sparse_check(cols, vals, n_classes,
                                          np.full(n_classes, -1, dtype=np.int64))
        if bad >= 0:
            raise InputError(f"{path}: row {start + bad} has "
                             + _SPARSE_ERRORS[kind].format(k1=n_classes - 1))
        if present is not None:
            present[cols[(cols >= 0) & (vals > -np.inf)]] = True
        return Assignment(*compiled.sparse_assign(cols, vals, n_classes, DEEP))
    compiled = _compiled_for(block.dtype)
    if compiled is not None:
        flags = np.zeros(block.shape[1], dtype=bool) if present is None else present
        a, conf, runner, share, others, bad, kind = compiled.assign(block, DEEP, flags)
        if bad < 0:
            return Assignment(a, conf, runner, share, others)
        if kind == 1:
            check_logits(block[bad:bad + 1], start + bad, path)
        raise InputError(f"{path}: row {start + bad} has no finite logit (all are -inf)")
    check_logits(block, start, path)
    if present is not None:
        present |= (block > -np.inf).any(axis=0)
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
    return Assignment(a, conf, runner, share, others)


def first_pass(block: np.ndarray, start: int, path: str, n_classes: int, input: str,
               temperature: float) -> tuple[np.ndarray, Assignment, np.ndarray]:
    """The first pass over one block: the rows as the merge loop will use them (logs of
    probabilities, divided by the temperature), what `assign` learns of each, and which
    columns hold a finite logit."""
    if input == "probs":
        block = probs_to_logits(block, start, path)
    if temperature != 1:
        block = scale_logits(block, temperature)
    present = np.zeros(n_classes, dtype=bool)
    return block, assign(block, start, path, n_classes, present), present


def argmax_rows(block: np.ndarray, start: int, path: str, n_classes: int) -> np.ndarray:
    """The argmax column of every row (ties: the lowest), rejecting the rows assign()
    rejects."""
    if is_sparse(block.dtype):
        return assign(block, start, path, n_classes).cluster
    check_logits(block, start, path)
    a = np.argmax(block, axis=1)
    top = block[np.arange(len(block)), a]
    if block.dtype.kind == "f" and np.isneginf(top).any():
        row = int(np.flatnonzero(np.isneginf(top))[0])
        raise InputError(f"{path}: row {start + row} has no finite logit (all are -inf)")
    return a


def fast_applies(dtype: np.dtype) -> bool:
    """Whether restricted_pick(..., fast=True) computes w in float32 for rows of `dtype` (then
    each w is within FAST_ERROR of the float64 one, relative; else it is the float64 one)."""
    return np.dtype(dtype) == np.float32 and _compiled_for(np.dtype(dtype)) is not None


#: A bound on the relative error of each w from the fast path: the rounding of x = z - top to
#: float32 (at most 87 * 2**-24 = 5.2e-6 in exp(x)), the float32 exp (at most 2.9 ulp, 1.7e-7,
#: measured once over every float32 in [-87, 0]; the tests check every 16th), the terms below
#: exp(-87) dropped and the float64 sum, with room to spare.
FAST_ERROR = 1e-5


def _row_buffer(rows: RowReader) -> np.ndarray:
    """A small buffer for the compiled kernels' reads, so each row is used while it is still
    in cache (one per thread, kept: a fresh 1 MB array per call costs as much as the reads of
    a small group)."""
    buf = getattr(_buffers, "buf", None)
    if buf is None or buf.shape[1] != rows.n_cols or buf.dtype != rows.dtype:
        buf = _buffers.buf = np.empty((FILE_RUN_ROWS, rows.n_cols), dtype=rows.dtype)
    return buf


#: The relative error of a float64 term exp(z - max) of the compiled kernels: z - max rounded
#: to float64 (at most 708 * 2**-53 in exp, for the terms kept) and exp's own 2 ulp.
TERM_ERROR = 712 * 2.0**-53


class OutsideMass:
    """Per point, its softmax mass outside the group it was last read in, shifted by its row
    max, and a bound on that number's error (kernels_numba._pick_row_outside): at first the
    `others` of assign, outside its own cluster. The fast step 2 of a point whose group has
    gained a few columns since then gathers only those columns."""

    #: A point whose group gained more columns than this and a quarter of a row since it was
    #: last read takes the whole row again (and keeps no outside mass from then on).
    MIN_GATHER = 16

    def __init__(self, others: np.ndarray, n_cols: int) -> None:
        self.rest = np.array(others, dtype=np.float64)
        # assign's float64 sum: each term's error, the sum's rounding, dropped terms.
        self.err = (TERM_ERROR + n_cols * 2.0**-53) * self.rest + n_cols * 2.0**-1020
        self.max_gather = max(self.MIN_GATHER, n_cols // 4)

    def step(self, cols: np.ndarray, lo: np.ndarray, hi: np.ndarray, tops: np.ndarray
             ) -> tuple:
        """The kernels' argument for a block of a step whose low has input columns `cols` in
        list order: per point of the block, its previous group cols[lo:hi] and its argmax
        column."""
        return (np.asarray(cols, dtype=np.int64), np.asarray(lo, dtype=np.int64),
                np.asarray(hi, dtype=np.int64), np.asarray(tops, dtype=np.int64), self.rest,
                self.err, self.max_gather)


_NONE = np.empty(0, np.int64)
#: restricted_pick's `outside` for a step from whole rows.
_WHOLE_ROWS = (_NONE, _NONE, _NONE, _NONE, np.empty(0), np.empty(0), 0)

#: A point's w from its outside mass is used when the bound on that mass is within this
#: share of it: w is then within FAST_ERROR of float64's, like the float32 path's.
OUTSIDE_TOLERANCE = FAST_ERROR / 2


def restricted_pick(rows: np.ndarray | RowReader, points: np.ndarray, keep: np.ndarray,
                    fast: bool = False, outside: tuple | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Step 2 of the algorithm for the rows `points` of `rows` (a matrix, or a RowReader over
    a file), restricted to the columns where the boolean mask `keep` is set: per point, the
    restricted argmax r (-1 when no kept logit is finite) and its restricted softmax
    probability w. `fast`: see fast_applies; with it, `outside` (OutsideMass.step, for the
    points of `points`) lets the compiled kernels use and update each point's outside mass."""
    if is_sparse(rows.dtype):
        block = take_rows(rows, points) if isinstance(rows, RowReader) else rows
        where = np.arange(len(points)) if isinstance(rows, RowReader) else points
        return _kernels().sparse_pick(*sparse_fields(block), where, keep)
    compiled = _compiled_for(rows.dtype)
    if compiled is not None:
        if outside is None or not fast:
            outside = _WHOLE_ROWS
        if isinstance(rows, np.ndarray):
            return compiled.restricted_pick(rows, points, keep, fast, outside,
                                            OUTSIDE_TOLERANCE)
        r, w, status = compiled.restricted_pick_file(
            rows.fd, rows.offset, rows.where(points), keep, _row_buffer(rows), fast,
            np.asarray(points, dtype=np.int64), outside, OUTSIDE_TOLERANCE)
        if status < 0:
            raise rows.error()
        return r, w
    block = take_rows(rows, points)
    kept = np.flatnonzero(keep)
    sub = block[:, kept] if len(kept) < block.shape[1] else block
    if not sub.shape[1]:
        return np.full(len(block), -1, dtype=np.int32), np.zeros(len(block))
    r = np.argmax(sub, axis=1)
    top = sub[np.arange(len(sub)), r].astype(np.float64)
    live = ~np.isneginf(top)
    e = sub.astype(np.float64)
    with np.errstate(invalid="ignore"):  # rows with no live column: -inf - -inf, dropped below
        e -= top[:, None]
        np.exp(e, out=e)
    w = np.where(live, 1.0 / e.sum(axis=1), 0.0)
    return np.where(live, kept[r], -1).astype(np.int32), w


class EmptyHosts:
    """The empty-cluster rule's host of every wanted column: the cluster whose points give it
    the most softmax probability in total (ties: the lowest). Points are added grouped by
    their argmax cluster, clusters ascending; memory O(K). Rules that took consecutive ranges
    of hosts give the rule of all of them through `combine`.

    >>> rule = EmptyHosts(np.array([False, False, True]), first_host=0)
    >>> z = np.array([[2.0, 0.0, 1.0], [0.0, 3.0, 1.5]])
    >>> conf = 1 / np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1)
    >>> rule.add(z, np.array([0, 1]), np.array([0, 1]), conf)
    >>> int(rule.hosts()[2])
    0
    """

    def __init__(self, wanted: np.ndarray, first_host: int) -> None:
        self.wanted = wanted
        self.columns = np.flatnonzero(wanted)
        self._state = np.array([-1, 0], dtype=np.int64)
        self._dense: tuple[np.ndarray, ...] | None = None
        self._sparse: tuple[np.ndarray, ...] | None = None
        self._first = first_host

    def add(self, rows: np.ndarray | RowReader, points: np.ndarray, hosts: np.ndarray,
            conf: np.ndarray) -> None:
        """The rows `points` of `rows` (a matrix, or a RowReader over a file), whose argmax
        columns are `hosts`, with their confidences."""
        hosts = np.asarray(hosts, dtype=np.int64)
        compiled = _kernels()
        if is_sparse(rows.dtype):
            if self._sparse is None:  # acc, touched, flags, best sums, hosts: per column
                k = len(self.wanted)
                self._sparse = (np.zeros(k), np.empty(k, dtype=np.int64),
                                np.zeros(k, dtype=bool), np.zeros(k),
                                np.full(k, self._first, dtype=np.int64))
            compiled.empty_hosts_sparse(*sparse_fields(take_rows(rows, points)), hosts, hosts,
                                        conf, self.wanted, self._state, *self._sparse)
            return
        if self._dense is None:  # sums, best sums, hosts: per wanted column
            e = len(self.columns)
            self._dense = (np.zeros(e), np.zeros(e), np.full(e, self._first, dtype=np.int64))
        if isinstance(rows, np.ndarray):
            compiled.empty_hosts_dense(rows, np.asarray(points, dtype=np.int64), hosts, conf,
                                       self.columns, self._dense[0], self._state,
                                       *self._dense[1:])
        elif compiled.empty_hosts_dense_file(rows.fd, rows.offset, rows.where(points), hosts,
                                             conf, self.columns, self._dense[0], self._state,
                                             *self._dense[1:], _row_buffer(rows)) < 0:
            raise rows.error()

    def best(self) -> tuple[np.ndarray, np.ndarray]:
        """Per column (meaningful where wanted): the most probability one host gives it, and
        that host."""
        given = np.zeros(len(self.wanted))
        host = np.full(len(self.wanted), self._first, dtype=np.int64)
        if self._sparse is not None:
            _kernels().finish_hosts(self._state, *self._sparse)
            given, host = self._sparse[-2:]
        if self._dense is not None:
            _kernels().finish_hosts_dense(self._state, *self._dense)
            given[self.columns], host[self.columns] = self._dense[1:]
        return given, host

    def hosts(self) -> np.ndarray:
        """Per column, the host column (meaningful where `wanted`)."""
        return self.best()[1]

    @staticmethod
    def combine(rules: Sequence["EmptyHosts"]) -> np.ndarray:
        """hosts() of the rule that took the hosts of all `rules`, which took consecutive
        ranges of hosts, in order: a later range wins a column only with strictly more."""
        given, host = rules[0].best()
        for rule in rules[1:]:
            more_given, more_host = rule.best()
            better = more_given > given
            given, host = np.where(better, more_given, given), np.where(better, more_host, host)
        return host


def relations(r: np.ndarray, w: np.ndarray, leaf_of: np.ndarray, parent: np.ndarray,
              node_at_root: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 4 from the picks of step 2: the nodes that receive mass (ascending) and how much,
    summed per leaf in point order, then per node in leaf order."""
    return _kernels().relations(np.asarray(r), np.asarray(w), leaf_of, parent, node_at_root)


def gather_runs(order: np.ndarray, starts: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """order[starts[c]:starts[c + 1]] for each c in clusters, concatenated."""
    return _kernels().gather_runs(order, starts, clusters)


def chain(first: int, next_leaf: np.ndarray, n: int) -> np.ndarray:
    """The n leaves of the linked list `next_leaf` from `first`."""
    return _kernels().chain(first, next_leaf, n)


def top_two(mass: np.ndarray, sizes: np.ndarray) -> tuple[int, float, int, float]:
    """Over rel = mass / sizes: the first largest (index, value) and the first largest of
    the others (-1, -inf when there is none)."""
    return _kernels().top_two(mass, sizes)


def find_nodes(leaves: np.ndarray, parent: np.ndarray, node_at_root: np.ndarray) -> np.ndarray:
    """The node of the group holding each leaf (a disjoint-set find, compressing paths)."""
    return _kernels().find_nodes(leaves, parent, node_at_root)
