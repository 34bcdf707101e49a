"""Metrics of docs/metrics.md, computed from counts: a contingency table for the flat metrics,
per-node label counts for the hierarchical ones. No pair of points is ever listed.

The flat metrics follow scikit-learn's conventions, including its special cases.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..trees.tree import Tree


def contingency(groups: np.ndarray, labels: np.ndarray, n_groups: int, n_labels: int
                ) -> np.ndarray:
    """counts[g, y] = number of points in group g with label y."""
    flat = np.bincount(groups.astype(np.int64) * n_labels + labels, minlength=n_groups * n_labels)
    return flat.reshape(n_groups, n_labels)


def _entropy(counts: np.ndarray) -> float:
    counts = counts[counts > 0].astype(np.float64)
    total = counts.sum()
    if total == 0:
        return 1.0
    p = counts / total
    return float(-(p * np.log(p)).sum())


def mutual_info(cont: np.ndarray) -> float:
    cont = np.asarray(cont, dtype=np.float64)
    total = cont.sum()
    rows, cols = cont.sum(axis=1), cont.sum(axis=0)
    gi, yi = np.nonzero(cont)
    if len(gi) <= 1:
        return 0.0
    n = cont[gi, yi]
    terms = n / total * (np.log(n) - math.log(total) - np.log(rows[gi] * cols[yi])
                         + 2 * math.log(total))
    terms = np.where(np.abs(terms) < np.finfo(np.float64).eps, 0.0, terms)
    return float(max(terms.sum(), 0.0))


def nmi(cont: np.ndarray, average: str = "arithmetic") -> float:
    """Normalized mutual information (rows: predicted groups, columns: labels)."""
    n_groups = int((cont.sum(axis=1) > 0).sum())
    n_labels = int((cont.sum(axis=0) > 0).sum())
    if n_groups == n_labels == 1 or n_groups == n_labels == 0:
        return 1.0
    mi = mutual_info(cont)
    if mi == 0:
        return 0.0
    h_pred, h_true = _entropy(cont.sum(axis=1)), _entropy(cont.sum(axis=0))
    if average == "arithmetic":
        norm = (h_true + h_pred) / 2
    elif average == "geometric":
        norm = math.sqrt(h_true * h_pred)
    else:
        raise ValueError(f"unknown average {average!r}")
    return float(mi / max(norm, np.finfo(np.float64).eps))


def ari(cont: np.ndarray) -> float:
    cont = np.asarray(cont, dtype=np.int64)
    n = int(cont.sum())
    rows = cont.sum(axis=1).astype(object)
    cols = cont.sum(axis=0).astype(object)
    sum_sq = int((cont.astype(object) ** 2).sum())
    tp = sum_sq - n
    fp = int((cont.astype(object) @ cols).sum()) - sum_sq if cont.size else 0
    fn = int((cont.T.astype(object) @ rows).sum()) - sum_sq if cont.size else 0
    tn = n * n - fp - fn - sum_sq
    if fn == 0 and fp == 0:
        return 1.0
    return float(2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn)))


def acc(cont: np.ndarray) -> float:
    """Best one-to-one matching of groups to labels (Hungarian); unmatched points are wrong."""
    total = cont.sum()
    if total == 0:
        return 0.0
    r, c = linear_sum_assignment(cont, maximize=True)
    return float(cont[r, c].sum() / total)


def leaf_purity(leaf_cont: np.ndarray) -> float:
    total = leaf_cont.sum()
    return float(leaf_cont.max(axis=1).sum() / total) if total else 0.0


def _dfs(tree: Tree) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Leaves in depth-first order, and for every node the range [lo, hi) of its leaves in it."""
    k = tree.n_leaves
    order = np.array(tree.leaves_of(tree.root), dtype=np.int64)
    pos = np.empty(k, dtype=np.int64)
    pos[order] = np.arange(k)
    lo = np.empty(tree.n_nodes, dtype=np.int64)
    hi = np.empty(tree.n_nodes, dtype=np.int64)
    lo[:k], hi[:k] = pos, pos + 1
    for t, ch in enumerate(tree.children):
        lo[k + t] = min(lo[c] for c in ch)
        hi[k + t] = max(hi[c] for c in ch)
    return order, lo, hi


def dendrogram_purity(tree: Tree, leaf_cont: np.ndarray) -> float:
    """Mean over same-label pairs of the purity of their lowest common ancestor for that label.

    NaN when no two points share a label.
    """
    k = tree.n_leaves
    counts = tree.node_sums(leaf_cont)
    sizes = counts.sum(axis=1)
    # Pairs whose lca is v, per label: all pairs under v minus those inside one child.
    pairs = np.zeros_like(counts)
    pairs[:k] = leaf_cont * (leaf_cont - 1.0) / 2.0
    for t, ch in enumerate(tree.children):
        node = k + t
        pairs[node] = (counts[node] ** 2 - (counts[list(ch)] ** 2).sum(axis=0)) / 2.0
    total_pairs = pairs.sum()
    if total_pairs == 0:
        return float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        purity = np.where(sizes[:, None] > 0, counts / sizes[:, None], 0.0)
    return float((pairs * purity).sum() / total_pairs)


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


def least_hierarchical_distance(tree: Tree, leaf_cont: np.ndarray) -> float:
    """Mean of log(d)/log(D) over same-label pairs at different leaves (l2h's definition):
    d = edges between the two leaves, D = the longest leaf-to-leaf path. 0 with no such pair."""
    k = tree.n_leaves
    diameter = tree_diameter(tree)
    if diameter < 2:
        return 0.0
    order, lo, hi = _dfs(tree)
    depth = tree.depths()
    leaf_depth = depth[order].astype(np.float64)
    counts = leaf_cont[order].astype(np.float64)
    total_log, total = 0.0, 0.0
    for t, ch in enumerate(tree.children):
        node = k + t
        if len(ch) == 2:
            a, b = ch
            s = counts[lo[a]:hi[a]] @ counts[lo[b]:hi[b]].T
            d = leaf_depth[lo[a]:hi[a], None] + leaf_depth[None, lo[b]:hi[b]] - 2 * depth[node]
        else:
            span = slice(lo[node], hi[node])
            s = counts[span] @ counts[span].T
            which = np.empty(hi[node] - lo[node], dtype=np.int64)
            for i, c in enumerate(ch):
                which[lo[c] - lo[node]:hi[c] - lo[node]] = i
            s = np.where(which[:, None] < which[None, :], s, 0.0)
            d = leaf_depth[span, None] + leaf_depth[None, span] - 2 * depth[node]
        total += s.sum()
        if s.any():
            total_log += float((s * np.log(np.maximum(d, 1.0))).sum())
    if total == 0:
        return 0.0
    return total_log / total / math.log(diameter)
