"""The L2H merge loop (SPEC section 1), over per-cluster statistics and a RowStore.

Only the points of the group being merged are read again at each step; everything else the
loop needs is per cluster.
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, Sequence

import numpy as np

from .errors import L2HWarning
from .kernels import column_mass, restricted_mass
from .parallel import BlockPool
from .store import RowStore

AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    # fsum rounds once, so the score of a group does not depend on its members' order.
    "sum": math.fsum,
    "mean": lambda v: math.fsum(v) / len(v),
    "min": min,
    "max": max,
}
STRATEGIES = ("lowest", "all-pairs")

Progress = Callable[[str, int, int], None]


class _Groups:
    """The ordered list of groups of SPEC section 1, with node ids in scipy's numbering."""

    def __init__(self, n_clusters: int) -> None:
        self.k = n_clusters
        self.members: dict[int, list[int]] = {c: [c] for c in range(n_clusters)}
        self.order: list[int] = list(range(n_clusters))
        self.node_of = np.arange(n_clusters)
        self.size = np.ones(2 * n_clusters, dtype=np.float64)
        self.merges: list[tuple[int, int]] = []

    def merge(self, low: int, best: int) -> int:
        node = self.k + len(self.merges)
        self.merges.append((low, best))
        leaves = self.members.pop(low) + self.members.pop(best)
        self.members[node] = leaves
        self.node_of[leaves] = node
        self.size[node] = len(leaves)
        self.order.remove(low)
        self.order.remove(best)
        self.order.append(node)
        return node


class MergeLoop:
    def __init__(self, store: RowStore, counts: np.ndarray, conf_sum: np.ndarray,
                 pool: BlockPool, block_rows: int, progress: Progress | None = None,
                 runner_up: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """`runner_up`: per point (in input order), the argmax of its other columns (-1 if
        none) and its softmax share among them (kernels.assign), so that a cluster that is
        `low` on its own costs no re-read."""
        self.store = store
        self.k = len(counts)
        self.counts = counts
        self.mean_conf = np.where(counts > 0, conf_sum / np.maximum(counts, 1), np.nan)
        self.pool = pool
        self.block_rows = block_rows
        self.progress = progress or (lambda stage, done, total: None)
        self.runner_up = runner_up

    def mass(self, clusters: Sequence[int]) -> np.ndarray:
        """SPEC steps 2-3: restricted-softmax mass per cluster from the points of `clusters`."""
        if len(clusters) == 1 and self.runner_up is not None:
            points = self.store.points(clusters)
            runner, share = self.runner_up[0][points], self.runner_up[1][points]
            live = runner >= 0
            return np.bincount(runner[live], weights=share[live], minlength=self.k)
        keep = np.ones(self.k, dtype=bool)
        keep[list(clusters)] = False
        keep_idx = np.flatnonzero(keep)
        total = np.zeros(self.k)
        if not keep_idx.size:
            return total
        rows = self.store.rows_ready()
        for part in self.pool.map(lambda points: restricted_mass(rows, points, keep_idx, self.k),
                                  self.store.blocks(clusters, self.block_rows)):
            total += part
        return total

    def run(self, aggregate: str = "sum", strategy: str = "lowest") -> list[tuple[int, int]]:
        if aggregate not in AGGREGATES:
            raise ValueError(f"unknown aggregate {aggregate!r}; choose from {list(AGGREGATES)}")
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; choose from {list(STRATEGIES)}")
        groups = _Groups(self.k)
        self._merge_empty(groups)
        if strategy == "lowest":
            self._lowest(groups, AGGREGATES[aggregate])
        else:
            self._all_pairs(groups)
        return groups.merges

    def _step_done(self, groups: _Groups) -> None:
        self.progress("merge", len(groups.merges), self.k - 1)

    def _merge_empty(self, groups: _Groups) -> None:
        empty = np.flatnonzero(self.counts == 0)
        if not empty.size:
            return
        warnings.warn(f"{empty.size} cluster(s) are the argmax of no point "
                      f"(first: {', '.join(map(str, empty[:5]))}); each joins the group of the "
                      "cluster whose points give it the most probability", L2HWarning,
                      stacklevel=3)
        occupied = np.flatnonzero(self.counts > 0)
        given = np.full((self.k, empty.size), -np.inf)
        given[occupied] = 0.0

        def blocks():
            for h in occupied:
                for points in self.store.blocks([h], self.block_rows):
                    yield h, points

        for h, part in self.pool.map(lambda item: (item[0],
                                                   column_mass(self.store.read(item[1]), empty)),
                                     blocks()):
            given[h] += part
        for j, c in enumerate(empty):
            h = int(np.argmax(given[:, j]))
            groups.merge(int(c), int(groups.node_of[h]))
            self._step_done(groups)

    def _score(self, leaves: list[int], agg: Callable[[list[float]], float]) -> float:
        return agg([float(self.mean_conf[c]) for c in leaves if self.counts[c] > 0])

    def _lowest(self, groups: _Groups, agg: Callable[[list[float]], float]) -> None:
        score = np.full(2 * self.k, np.inf)
        for node in groups.order:
            score[node] = self._score(groups.members[node], agg)
        while len(groups.order) > 1:
            order = np.array(groups.order)
            low = int(order[np.argmin(score[order])])
            mass = self.mass(groups.members[low])
            rel = np.bincount(groups.node_of, weights=mass, minlength=2 * self.k) / groups.size
            cand = rel[order]
            cand[order == low] = -np.inf
            best = int(order[np.argmax(cand)])
            node = groups.merge(low, best)
            score[node] = self._score(groups.members[node], agg)
            self._step_done(groups)

    def _all_pairs(self, groups: _Groups) -> None:
        # given[slot(G), slot(H)] = sum over c in H of mass_G[c]; a new group takes the slot
        # of its `low` part, so the table stays K x K.
        slot = {node: i for i, node in enumerate(groups.order)}
        given = np.zeros((len(slot), len(slot)))

        def fill_row(node: int) -> None:
            mass = self.mass(groups.members[node])
            per_node = np.bincount(groups.node_of, weights=mass, minlength=2 * self.k)
            for other, s in slot.items():
                given[slot[node], s] = per_node[other]

        for node in groups.order:
            fill_row(node)
        while len(groups.order) > 1:
            order = np.array(groups.order)
            slots = np.array([slot[n] for n in order])
            rel = given[np.ix_(slots, slots)] / groups.size[order][None, :]
            np.fill_diagonal(rel, -np.inf)
            g, h = divmod(int(np.argmax(rel)), len(order))
            low, best = int(order[g]), int(order[h])
            node = groups.merge(low, best)
            s_low, s_best = slot.pop(low), slot.pop(best)
            given[:, s_low] += given[:, s_best]
            slot[node] = s_low
            if len(groups.order) > 1:
                fill_row(node)
            self._step_done(groups)
