"""Metrics of docs/metrics.md, computed from counts: a contingency table of the cut for the
flat metrics, sparse per-leaf label counts for the hierarchical ones. No pair of points is
ever listed.

The flat metrics follow scikit-learn's conventions, including its special cases.
"""

from __future__ import annotations

import math
from typing import Any, Iterator

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from ..trees.tree import Tree


def _parts(cont: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, count) of the nonzero cells, and the row and column sums, of a dense or
    scipy.sparse contingency table."""
    if sparse.issparse(cont):
        gi, yi, n = sparse.find(cont)
        rows = np.asarray(cont.sum(axis=1)).ravel()
        cols = np.asarray(cont.sum(axis=0)).ravel()
    else:
        cont = np.asarray(cont)
        gi, yi = np.nonzero(cont)
        n = cont[gi, yi]
        rows, cols = cont.sum(axis=1), cont.sum(axis=0)
    return gi, yi, n.astype(np.int64), rows.astype(np.int64), cols.astype(np.int64)


def _entropy(counts: np.ndarray) -> float:
    counts = counts[counts > 0].astype(np.float64)
    total = counts.sum()
    if total == 0:
        return 1.0
    p = counts / total
    return float(-(p * np.log(p)).sum())


def mutual_info(cont: Any) -> float:
    gi, yi, n, rows, cols = _parts(cont)
    total = float(rows.sum())
    if len(gi) <= 1:
        return 0.0
    n = n.astype(np.float64)
    terms = n / total * (np.log(n) - math.log(total)
                         - np.log(rows[gi].astype(np.float64) * cols[yi]) + 2 * math.log(total))
    terms = np.where(np.abs(terms) < np.finfo(np.float64).eps, 0.0, terms)
    return float(max(terms.sum(), 0.0))


def nmi(cont: Any, average: str = "arithmetic") -> float:
    """Normalized mutual information (rows: predicted groups, columns: labels); the table may
    be dense or scipy.sparse."""
    _, _, _, rows, cols = _parts(cont)
    n_groups, n_labels = int((rows > 0).sum()), int((cols > 0).sum())
    if n_groups == n_labels == 1 or n_groups == n_labels == 0:
        return 1.0
    mi = mutual_info(cont)
    if mi == 0:
        return 0.0
    h_pred, h_true = _entropy(rows), _entropy(cols)
    if average == "arithmetic":
        norm = (h_true + h_pred) / 2
    elif average == "geometric":
        norm = math.sqrt(h_true * h_pred)
    else:
        raise ValueError(f"unknown average {average!r}")
    return float(mi / max(norm, np.finfo(np.float64).eps))


def _square_sum(values: np.ndarray) -> int:
    return int((values.astype(object) ** 2).sum()) if len(values) else 0


def ari(cont: Any) -> float:
    """Adjusted Rand index, in exact integer arithmetic for its pair counts."""
    _, _, n_cells, rows, cols = _parts(cont)
    n = int(rows.sum())
    sum_sq = _square_sum(n_cells)
    tp = sum_sq - n
    fp = _square_sum(cols) - sum_sq
    fn = _square_sum(rows) - sum_sq
    tn = n * n - fp - fn - sum_sq
    if fn == 0 and fp == 0:
        return 1.0
    return float(2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn)))


def acc(cont: Any) -> float:
    """Best one-to-one matching of groups to labels (Hungarian); unmatched points are wrong.

    A sparse table is matched with scipy's sparse solver: each group may also take a dummy
    label of its own at no gain, so a full matching of the groups always exists and its
    lowest cost is the highest matched count.
    """
    gi, yi, n, rows, cols = _parts(cont)
    total = int(rows.sum())
    if total == 0:
        return 0.0
    if not sparse.issparse(cont):
        r, c = linear_sum_assignment(np.asarray(cont), maximize=True)
        return float(np.asarray(cont)[r, c].sum() / total)
    g, y = cont.shape
    top = float(n.max()) + 1.0
    costs = sparse.csr_matrix(
        (np.r_[top - n, np.full(g, top)], (np.r_[gi, np.arange(g)], np.r_[yi, y + np.arange(g)])),
        shape=(g, y + g))
    r, c = min_weight_full_bipartite_matching(costs)
    real = c < y
    matched = np.asarray(cont[r[real], c[real]]).ravel()
    return float(matched.sum() / total)


class LeafCounts:
    """Labelled points per leaf as a sparse table: `leaf`, `label` and `count` arrays (only
    the pairs that occur, sorted by leaf then label). Memory follows the pairs that occur, not
    leaves x labels.

    >>> c = LeafCounts.of(np.array([0, 0, 2]), np.array([1, 1, 0]), 3, 2)
    >>> c.leaf.tolist(), c.label.tolist(), c.count.tolist()
    ([0, 2], [1, 0], [2, 1])
    """

    def __init__(self, leaf: np.ndarray, label: np.ndarray, count: np.ndarray, n_leaves: int,
                 n_labels: int) -> None:
        self.leaf, self.label, self.count = leaf, label, count
        self.n_leaves, self.n_labels = n_leaves, n_labels

    @classmethod
    def of(cls, point_leaf: np.ndarray, labels: np.ndarray, n_leaves: int,
           n_labels: int) -> "LeafCounts":
        keys, count = np.unique(point_leaf.astype(np.int64) * n_labels + labels,
                                return_counts=True)
        return cls(keys // n_labels, keys % n_labels, count.astype(np.int64), n_leaves,
                   n_labels)

    def grouped(self, groups: np.ndarray, n_groups: int) -> sparse.csr_matrix:
        """The contingency table of a cut, sparse: counts[g, y] over the leaves of group g."""
        return sparse.csr_matrix((self.count, (groups[self.leaf], self.label)),
                                 shape=(n_groups, self.n_labels))


def leaf_purity(counts: LeafCounts) -> float:
    total = counts.count.sum()
    if total == 0:
        return 0.0
    top = np.zeros(counts.n_leaves, dtype=np.int64)
    np.maximum.at(top, counts.leaf, counts.count)
    return float(top.sum() / total)


def merged_label_tables(tree: Tree, counts: LeafCounts
                        ) -> Iterator[tuple[int, int | None, dict[int, int], dict[int, int]]]:
    """Per node, leaves first and then the merges in order: `(node, child, table, parts)`,
    where `table` maps each label to the node's count, `child` is the child whose table was
    reused (None for a leaf), and `parts` holds, for the labels whose count changed at this
    node, the sum of the squares of the counts that met there (a leaf's points count as parts
    of one). Tables are merged small-to-large, so the work follows the (leaf, label) pairs that
    occur, never leaves x labels; each table is only valid until the next item.

    >>> t = Tree(3, [(0, 1), (3, 2)], [1.0, 2.0])
    >>> c = LeafCounts.of(np.array([0, 0, 1, 2]), np.array([5, 5, 5, 6]), 3, 7)
    >>> [(v, dict(tab), parts) for v, _, tab, parts in merged_label_tables(t, c)][3:]
    [(3, {5: 3}, {5: 5}), (4, {5: 3, 6: 1}, {6: 1})]
    """
    k = tree.n_leaves
    tables: list[dict[int, int] | None] = [{} for _ in range(k)]
    tables += [None] * len(tree.children)
    for leaf, label, c in zip(counts.leaf.tolist(), counts.label.tolist(),
                              counts.count.tolist()):
        tables[leaf][label] = c
    for leaf in range(k):
        yield leaf, None, tables[leaf], dict(tables[leaf])
    for t, children in enumerate(tree.children):
        node = k + t
        big = max(children, key=lambda ch: len(tables[ch]))
        table = tables[big]
        parts: dict[int, int] = {}
        for child in children:
            if child == big:
                continue
            for label, c in tables[child].items():
                if label not in parts:
                    before = table.get(label, 0)
                    parts[label] = before * before
                parts[label] += c * c
                table[label] = table.get(label, 0) + c
            tables[child] = None
        tables[node], tables[big] = table, None
        yield node, big, table, parts


def dendrogram_purity(tree: Tree, counts: LeafCounts) -> float:
    """Mean over same-label pairs of the purity of their lowest common ancestor for that label.

    Per node, the pairs it is the lca of are the pairs between the counts that met there:
    (count^2 - sum of the parts' squares) / 2. NaN when no two points share a label.
    """
    k = tree.n_leaves
    sizes = tree.node_sums(np.bincount(counts.leaf, weights=counts.count, minlength=k))
    pair_sum = purity_sum = 0.0
    for node, _, table, parts in merged_label_tables(tree, counts):
        for label, square in parts.items():
            c = table[label]
            pairs = (c * c - square) / 2
            pair_sum += pairs
            purity_sum += pairs * c / sizes[node]
    return purity_sum / pair_sum if pair_sum else float("nan")


def node_majority(tree: Tree, counts: LeafCounts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per node: labelled points, its most frequent label (-1 with none) and that label's count.
    Ties go to the smaller label at a leaf and to the larger child's label above.

    >>> t = Tree(3, [(0, 1), (3, 2)], [1.0, 2.0])
    >>> c = LeafCounts.of(np.array([0, 0, 1, 2, 2, 2]), np.array([5, 5, 6, 6, 6, 6]), 3, 7)
    >>> [a.tolist() for a in node_majority(t, c)]
    [[2, 1, 3, 3, 6], [5, 6, 6, 5, 6], [2, 1, 3, 2, 4]]
    """
    n = tree.n_nodes
    total = tree.node_sums(np.bincount(counts.leaf, weights=counts.count,
                                       minlength=tree.n_leaves)).astype(np.int64)
    label = np.full(n, -1, dtype=np.int64)
    best = np.zeros(n, dtype=np.int64)
    for node, child, table, parts in merged_label_tables(tree, counts):
        if child is not None:
            label[node], best[node] = label[child], best[child]
        for y in sorted(parts):
            if table[y] > best[node]:
                label[node], best[node] = y, table[y]
    return total, label, best


def tree_diameter(tree: Tree) -> int:
    """Edges on the longest path between two leaves."""
    k = tree.n_leaves
    down = np.zeros(tree.n_nodes, dtype=np.int64)
    best = 0
    for t, ch in enumerate(tree.children):
        arms = sorted((int(down[c]) + 1 for c in ch), reverse=True)
        down[k + t] = arms[0]
        best = max(best, arms[0] + arms[1])
    return best


class _Ancestors:
    """Lowest common ancestors of many node pairs at once (binary lifting)."""

    def __init__(self, tree: Tree) -> None:
        parent = tree.parents()
        parent[tree.root] = tree.root
        self.depth = tree.depths()
        levels = max(1, int(self.depth.max()).bit_length())
        self.up = [parent]
        for _ in range(levels - 1):
            self.up.append(self.up[-1][self.up[-1]])

    def lca(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        swap = self.depth[a] < self.depth[b]
        a, b = np.where(swap, b, a), np.where(swap, a, b)
        diff = self.depth[a] - self.depth[b]
        for j, up in enumerate(self.up):
            move = ((diff >> j) & 1).astype(bool)
            a = np.where(move, up[a], a)
        for up in reversed(self.up):
            ua, ub = up[a], up[b]
            move = ua != ub
            a, b = np.where(move, ua, a), np.where(move, ub, b)
        return np.where(a == b, a, self.up[0][a])


#: Leaf pairs handled at once by least_hierarchical_distance (bounds its memory).
PAIR_CHUNK = 2**20


def least_hierarchical_distance(tree: Tree, counts: LeafCounts) -> float:
    """Mean of log(d)/log(D) over same-label pairs at different leaves (l2h's definition):
    d = edges between the two leaves, D = the longest leaf-to-leaf path. 0 with no such pair.

    Enumerates, per label, the pairs of leaves that hold it (not the pairs of points), and
    finds their lowest common ancestors by binary lifting, a chunk of pairs at a time.
    """
    diameter = tree_diameter(tree)
    if diameter < 2:
        return 0.0
    ancestors = _Ancestors(tree)
    depth = ancestors.depth
    order = np.lexsort((counts.leaf, counts.label))
    leaf, label, count = counts.leaf[order], counts.label[order], counts.count[order]
    starts = np.flatnonzero(np.r_[True, label[1:] != label[:-1]])
    stops = np.r_[starts[1:], len(label)]
    total_log = total = 0.0
    pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    size = 0

    def flush() -> None:
        nonlocal total_log, total, size
        if not pending:
            return
        a = np.concatenate([p[0] for p in pending])
        b = np.concatenate([p[1] for p in pending])
        w = np.concatenate([p[2] for p in pending])
        d = depth[a] + depth[b] - 2 * depth[ancestors.lca(a, b)]
        total += w.sum()
        total_log += float((w * np.log(d)).sum())
        pending.clear()
        size = 0

    for start, stop in zip(starts, stops):
        m = stop - start
        if m < 2:
            continue
        i, j = np.triu_indices(m, 1)
        for lo in range(0, len(i), PAIR_CHUNK):
            ii, jj = i[lo:lo + PAIR_CHUNK] + start, j[lo:lo + PAIR_CHUNK] + start
            pending.append((leaf[ii], leaf[jj], (count[ii] * count[jj]).astype(np.float64)))
            size += len(ii)
            if size >= PAIR_CHUNK:
                flush()
    flush()
    if total == 0:
        return 0.0
    return total_log / total / math.log(diameter)
