"""The L2H merge loop (docs/algorithm.md), over per-cluster statistics and a RowSource.

Only the points of the group being merged are read again at each step, and no step scans all
K clusters: the lowest score comes from a heap, the relations from the points of `low` alone
(grouped by the node that holds their restricted argmax), and a merge costs O(1) amortised.
The loop runs over the leaves 0..K'-1; `columns[leaf]` is the input column of each.
"""

from __future__ import annotations

import heapq
import math
import os
import warnings
from typing import Callable

import numpy as np

from ..errors import L2HWarning
from .kernels import (FAST_ERROR, EmptyHosts, OutsideMass, chain, fast_applies, find_nodes,
                      relations, restricted_pick, top_two)
from .parallel import BlockPool
from .store import RowSource
from ..trees.tree import Tree

AGGREGATES = ("sum", "mean", "min", "max")
STRATEGIES = ("lowest", "all-pairs")

Progress = Callable[[str, int, int], None]

#: Step 2 in certified float32 where the rows are float32 (kernels.fast_applies); a step
#: whose best group the error bound does not settle is redone in float64, so the merges are
#: those of float64 arithmetic. False (L2H_ARITHMETIC=float64): every step in float64, and
#: the recorded shares are float64's to the last bits (the tests run both).
FAST_ARITHMETIC = os.environ.get("L2H_ARITHMETIC") != "float64"

#: A fast step settles its best group when the top relation leads the runner-up by more than
#: this share of itself: both carry at most FAST_ERROR relative error, plus float64's own.
SETTLED = 3 * FAST_ERROR

#: A float64 times this is an exact integer (every float64 is a multiple of 2**-1074), so
#: group sums of mean confidences are exact integers, rounded once when a score is read.
_SCALE = 1 << 1074


def _exact(x: float) -> int:
    num, den = float(x).as_integer_ratio()
    return num * (_SCALE // den)


class _Groups:
    """The ordered list of groups of docs/algorithm.md.

    The list starts as the leaves 0..K-1 and each merge appends node K+t, so a group's place
    in the list is the order of its node id: "first in the list" is "smallest node id".
    Leaves find their group through a disjoint-set forest (union by size, path compression),
    and each group keeps its leaves as a linked list in the algorithm's order (low's, then best's).
    """

    def __init__(self, n_leaves: int) -> None:
        k = self.k = n_leaves
        self.parent = np.arange(k)
        self.set_size = np.ones(k, dtype=np.int64)
        self.node_at_root = np.arange(k)
        self.root_of = np.concatenate([np.arange(k), np.full(max(k - 1, 0), -1)])
        self.n_leaves = np.concatenate([np.ones(k, np.int64), np.zeros(max(k - 1, 0), np.int64)])
        self.first = self.root_of.copy()
        self.last = self.root_of.copy()
        self.next_leaf = np.full(k, -1)
        self.alive = np.concatenate([np.ones(k, bool), np.zeros(max(k - 1, 0), bool)])
        self._alive_heap = list(range(k))
        self.count = k
        self.merges: list[tuple[int, int]] = []

    def nodes_of(self, leaves: np.ndarray) -> np.ndarray:
        """The node of the group holding each leaf."""
        return find_nodes(np.asarray(leaves, dtype=np.int64), self.parent, self.node_at_root)

    def leaves(self, node: int) -> np.ndarray:
        return chain(int(self.first[node]), self.next_leaf, int(self.n_leaves[node]))

    def first_alive(self, skip: int) -> int:
        """The first group in the list other than `skip`."""
        heap = self._alive_heap
        while not self.alive[heap[0]]:
            heapq.heappop(heap)
        if heap[0] != skip:
            return heap[0]
        heapq.heappop(heap)
        try:
            return self.first_alive(skip)
        finally:
            heapq.heappush(heap, skip)

    def alive_nodes(self) -> np.ndarray:
        return np.flatnonzero(self.alive)

    def merge(self, low: int, best: int) -> int:
        node = self.k + len(self.merges)
        self.merges.append((low, best))
        big, small = self.root_of[low], self.root_of[best]
        if self.set_size[big] < self.set_size[small]:
            big, small = small, big
        self.parent[small] = big
        self.set_size[big] += self.set_size[small]
        self.node_at_root[big] = node
        self.root_of[node] = big
        self.next_leaf[self.last[low]] = self.first[best]
        self.first[node], self.last[node] = self.first[low], self.last[best]
        self.n_leaves[node] = self.n_leaves[low] + self.n_leaves[best]
        self.alive[low] = self.alive[best] = False
        self.alive[node] = True
        heapq.heappush(self._alive_heap, node)
        self.count -= 1
        return node


class _Scores:
    """Each group's score: Λ over the mean confidences of its non-empty clusters, kept in a
    form that merges in O(1) and gives exactly math.fsum's result for sums. A group keeps
    one value (for sum and mean the exact integer sum, for min and max the least or the
    greatest) and, for mean, its number of non-empty clusters; a group of empty clusters
    keeps none."""

    def __init__(self, aggregate: str, mean_conf: np.ndarray, occupied: np.ndarray) -> None:
        self.aggregate = aggregate
        exact = aggregate in ("sum", "mean")
        self._combine = int.__add__ if exact else (min if aggregate == "min" else max)
        self.value: dict[int, int | float] = {}
        self.count: dict[int, int] = {}
        for leaf in map(int, np.flatnonzero(occupied)):
            m = float(mean_conf[leaf])
            self.value[leaf] = _exact(m) if exact else m
            self.count[leaf] = 1

    def join(self, node: int, a: int, b: int) -> None:
        value, count = self.value, self.count
        if a in value and b in value:
            value[node] = self._combine(value.pop(a), value.pop(b))
            count[node] = count.pop(a) + count.pop(b)
        elif a in value or b in value:
            kept = a if a in value else b
            value[node], count[node] = value.pop(kept), count.pop(kept)

    def score(self, node: int) -> float:
        if self.aggregate in ("min", "max"):
            return self.value[node]
        total = self.value[node] / _SCALE  # int / int rounds once, as math.fsum does
        return total / self.count[node] if self.aggregate == "mean" else total


class MergeLoop:
    def __init__(self, store: RowSource, counts: np.ndarray, conf_sum: np.ndarray,
                 columns: np.ndarray, pool: BlockPool, block_rows: int,
                 conf: np.ndarray, progress: Progress | None = None,
                 runner_up: tuple[np.ndarray, np.ndarray] | None = None,
                 others: np.ndarray | None = None) -> None:
        """`counts`, `conf_sum`: per input column. `columns`: the input column of each leaf
        (the present ones). `conf`: per point, the softmax probability of its argmax.
        `runner_up`: per point (in input order), the column of the argmax
        of its other logits (-1 if none) and its softmax share among them (kernels.assign),
        so that a cluster that is `low` on its own costs no re-read. `others`: per point,
        assign's sum of exp(z - max) over its other columns, from which the fast step 2
        follows each point's mass outside its group (kernels.OutsideMass)."""
        self.store = store
        self.columns = np.asarray(columns, dtype=np.int64)
        self.k = len(self.columns)
        self.leaf_of = np.full(len(counts), -1, dtype=np.int64)
        self.leaf_of[self.columns] = np.arange(self.k)
        self.counts = counts[self.columns]
        self.mean_conf = np.where(self.counts > 0, conf_sum[self.columns]
                                  / np.maximum(self.counts, 1), np.nan)
        self.keep = np.zeros(len(counts), dtype=bool)
        self.keep[self.columns] = True
        self.pool = pool
        self.block_rows = block_rows
        self.progress = progress or (lambda stage, done, total: None)
        self.runner_up = runner_up
        self.conf = conf
        self.stats: dict[str, list[float]] = {key: [] for key in Tree.MERGE_STATS}
        self.redone = 0  # fast steps done again in float64
        dense_fast = FAST_ARITHMETIC and others is not None and fast_applies(store.dtype)
        self.outside = OutsideMass(others, store.n_cols) if dense_fast else None
        # Per leaf: the group its points were last read in (their outside mass is outside it).
        self.read_in = np.arange(self.k)
        # For a step: each leaf's place among low's leaves, and per input column where the
        # leaf's last group sits among them.
        self._position = np.zeros(self.k, dtype=np.int64)
        self._lo = np.zeros(len(counts), dtype=np.int64)
        self._hi = np.zeros(len(counts), dtype=np.int64)

    def relations(self, groups: _Groups, node: int, fast: bool = False
                  ) -> tuple[np.ndarray, np.ndarray, bool]:
        """Steps 2-4 of the algorithm for the group `node`: the nodes that receive mass,
        ascending, the mass each receives (summed per cluster in point order, then per node
        in cluster order), and whether it is approximate (see picks)."""
        leaves = groups.leaves(node)
        cols = self.columns[leaves]
        if len(cols) == 1 and self.runner_up is not None:
            points = self.store.points(cols)
            r, w, approximate = self.runner_up[0][points], self.runner_up[1][points], False
        elif fast and self.outside is not None:
            # Where each leaf's last group sits among low's leaves: a contiguous run, since
            # groups only ever join end to end.
            position = self._position
            position[leaves] = np.arange(len(leaves))
            last = self.read_in[leaves]
            lo = position[groups.first[last]]
            self._lo[cols], self._hi[cols] = lo, lo + groups.n_leaves[last]
            r, w, approximate = self.picks(cols, fast, outside=True)
            self.read_in[leaves] = node
        else:
            r, w, approximate = self.picks(cols, fast)
        return (*relations(r, w, self.leaf_of, groups.parent, groups.node_at_root),
                approximate)

    def picks(self, cols: np.ndarray, fast: bool = False, outside: bool = False
              ) -> tuple[np.ndarray, np.ndarray, bool]:
        """Step 2 of the algorithm for the points whose argmax is in `cols`, restricted to the other
        columns: (r, w) per point, by cluster in the order of `cols`, then by row index; and
        whether the w are the fast ones (each within FAST_ERROR of float64's, relative).
        `outside`: from and to the points' outside masses, the previous groups placed in
        self._lo and self._hi."""
        self.keep[cols] = False
        rows, labels = self.store.rows, self.store.labels()

        def pick(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            if not outside:
                return restricted_pick(rows, pts, self.keep, fast)
            tops = labels[pts].astype(np.int64)
            return restricted_pick(rows, pts, self.keep, fast,
                                   self.outside.step(cols, self._lo[tops], self._hi[tops], tops))

        try:
            parts = self.pool.run(pick, list(self.store.blocks(cols, self.block_rows)))
        finally:
            self.keep[cols] = True
        approximate = fast and fast_applies(rows.dtype)
        if not parts:
            return np.empty(0, np.int32), np.empty(0), approximate
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                approximate)

    def run(self, aggregate: str = "sum", strategy: str = "lowest") -> list[tuple[int, int]]:
        if aggregate not in AGGREGATES:
            raise ValueError(f"unknown aggregate {aggregate!r}; choose from {list(AGGREGATES)}")
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; choose from {list(STRATEGIES)}")
        groups = _Groups(self.k)
        self.scores = _Scores(aggregate, self.mean_conf, self.counts > 0)
        self._merge_empty(groups)
        if strategy == "lowest":
            self._lowest(groups, self.scores)
        else:
            self._all_pairs(groups)
        return groups.merges

    def _record(self, groups: _Groups, low: int, best: int, margin_low: float = math.nan,
                margin_best: float = math.nan, strength: float = math.nan,
                runner_share: float = math.nan) -> int:
        node = groups.merge(low, best)
        self.scores.join(node, low, best)
        for key, value in zip(self.stats, (margin_low, margin_best, strength, runner_share)):
            self.stats[key].append(value)
        self.progress("merge", len(groups.merges), self.k - 1)
        return node

    def _merge_empty(self, groups: _Groups) -> None:
        """Each empty cluster, in id order, joins the group of the non-empty cluster whose
        points give it the most probability (ties: the lowest). Memory O(K), one pass over
        the points of each non-empty cluster."""
        empty = np.flatnonzero(self.counts == 0)
        if not empty.size:
            return
        warnings.warn(f"{empty.size} cluster(s) are the argmax of no point "
                      f"(first: {', '.join(map(str, self.columns[empty[:5]]))}); each joins "
                      "the group of the cluster whose points give it the most probability",
                      L2HWarning, stacklevel=3)
        occupied = np.flatnonzero(self.counts > 0)
        wanted = np.zeros(len(self.keep), dtype=bool)
        wanted[self.columns[empty]] = True
        host = self.empty_hosts(wanted, self.columns[occupied])
        for leaf in empty:
            target = int(groups.nodes_of(self.leaf_of[host[self.columns[[leaf]]]])[0])
            self._record(groups, int(leaf), target)

    def empty_hosts(self, wanted: np.ndarray, occupied: np.ndarray) -> np.ndarray:
        """Per column (where `wanted`), the column among `occupied` (ascending) whose points
        give it the most probability in total; ties: the lowest. Each worker thread takes a
        range of hosts with about as many points as the others."""
        labels = self.store.labels()
        points = np.cumsum(np.bincount(labels, minlength=len(self.keep))[occupied])
        cuts = np.searchsorted(points, points[-1] * np.arange(1, self.pool.workers)
                               / self.pool.workers)
        ranges = [part for part in np.split(occupied, cuts) if len(part)]

        def rule_of(hosts: np.ndarray) -> EmptyHosts:
            rule = EmptyHosts(wanted, int(occupied[0]))
            for pts in self.store.blocks(hosts, self.block_rows):
                rule.add(self.store.rows, pts, labels[pts], self.conf[pts])
            return rule

        return EmptyHosts.combine(list(self.pool.map(rule_of, ranges)))

    def _lowest(self, groups: _Groups, scores: _Scores) -> None:
        heap = [(scores.score(n), n) for n in map(int, groups.alive_nodes())]
        heapq.heapify(heap)

        def top() -> tuple[float, int]:
            while not groups.alive[heap[0][1]]:
                heapq.heappop(heap)
            return heap[0]

        while groups.count > 1:
            s1, low = top()
            heapq.heappop(heap)
            s2 = top()[0]
            best, margin_best, strength, runner_share = self._best(groups, low)
            margin_low = (s2 - s1) / abs(s2) if s2 else math.nan
            node = self._record(groups, low, best, margin_low, margin_best, strength,
                                runner_share)
            heapq.heappush(heap, (scores.score(node), node))

    def _best(self, groups: _Groups, low: int) -> tuple[int, float, float, float]:
        """Steps 2-4 for `low`: best, margin_best, strength, runner-up share. Fast arithmetic
        first where it applies; in float64 again when its bound leaves best in doubt."""
        nodes, mass, approximate = self.relations(groups, low, FAST_ARITHMETIC)
        while True:
            if not nodes.size:
                return groups.first_alive(low), math.nan, math.nan, math.nan
            # The first of equal maxima: the smallest node id; and the first of the others.
            j, top_rel, j2, second = top_two(mass, groups.n_leaves[nodes])
            # The runner-up relation; groups that receive nothing have a relation of 0.
            r2 = max(second, 0.0 if groups.count - 1 > len(nodes) else -math.inf)
            if not (approximate and r2 > -math.inf and top_rel - r2 <= SETTLED * top_rel):
                break
            self.redone += 1
            nodes, mass, approximate = self.relations(groups, low)
        margin_best = (top_rel - r2) / abs(top_rel) if r2 > -math.inf else math.nan
        total = mass.sum()
        # The runner-up group's share: 0 when it receives nothing.
        runner_share = (mass[j2] / total if second > 0 else 0.0) if r2 > -math.inf \
            else math.nan
        return int(nodes[j]), margin_best, mass[j] / total, runner_share

    def _all_pairs(self, groups: _Groups) -> None:
        # given[slot(G), slot(H)] = mass the points of G give H; a new group takes the slot
        # of its `low` part, so the table stays K x K.
        slot = {int(node): i for i, node in enumerate(groups.alive_nodes())}
        given = np.zeros((len(slot), len(slot)))

        def fill_row(node: int) -> None:
            nodes, mass, _ = self.relations(groups, node)
            given[slot[node]] = 0.0
            given[slot[node], [slot[int(v)] for v in nodes]] = mass

        for node in list(slot):
            fill_row(node)
        while groups.count > 1:
            order = groups.alive_nodes()
            slots = np.array([slot[int(n)] for n in order])
            rel = given[np.ix_(slots, slots)] / groups.n_leaves[order][None, :]
            np.fill_diagonal(rel, -np.inf)
            g, h = divmod(int(np.argmax(rel)), len(order))
            low, best = int(order[g]), int(order[h])
            node = self._record(groups, low, best)
            s_low, s_best = slot.pop(low), slot.pop(best)
            given[:, s_low] += given[:, s_best]
            slot[node] = s_low
            if groups.count > 1:
                fill_row(node)
