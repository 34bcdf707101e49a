"""Per-node statistics and drawing positions of a tree, shared by `show` and `render`.

Leaves are placed left to right in depth-first order (so every subtree is a contiguous run),
internal nodes at their height above the mean position of their children. Nothing here
recurses, so 10,000-deep chains lay out fine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..trees.tree import Tree


@dataclass
class NodeStats:
    n_leaves: np.ndarray          # per node
    points: np.ndarray | None     # per node: points assigned to its leaves (None: unknown)
    confidence: np.ndarray | None  # per node: mean confidence of those points
    purity: np.ndarray | None     # per node: share of its points with its majority label
    majority: np.ndarray | None   # per node: index of that label


def node_stats(tree: Tree, label_counts: np.ndarray | None = None) -> NodeStats:
    """`label_counts[leaf, y]`: labelled points per leaf, for purity (optional)."""
    n_leaves = tree.leaf_counts()
    points = conf = None
    if tree.sizes is not None:
        points = tree.node_sums(tree.sizes)
        if tree.confidences is not None:
            conf_mass = tree.node_sums(np.nan_to_num(tree.confidences) * tree.sizes)
            with np.errstate(invalid="ignore", divide="ignore"):
                conf = np.where(points > 0, conf_mass / points, np.nan)
    purity = majority = None
    if label_counts is not None:
        counts = tree.node_sums(label_counts)
        totals = counts.sum(axis=1)
        majority = counts.argmax(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            purity = np.where(totals > 0, counts.max(axis=1) / totals, np.nan)
    return NodeStats(n_leaves, points, conf, purity, majority)


def subtree_colors(tree: Tree, leaf_colors: list[str | None]) -> list[str | None]:
    """Per node, the colour its leaves all share, or None when they differ."""
    colors = list(leaf_colors) + [None] * len(tree.children)
    for t, ch in enumerate(tree.children):
        kids = {colors[c] for c in ch}
        colors[tree.n_leaves + t] = kids.pop() if len(kids) == 1 else None
    return colors


def positions(tree: Tree) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """x (leaf slot, 0..K-1 for leaves) and y (height) of every node, and the leaf order."""
    k = tree.n_leaves
    order = tree.leaves_of(tree.root)
    x = np.zeros(tree.n_nodes)
    x[order] = np.arange(k)
    y = np.concatenate([np.zeros(k), tree.heights])
    for t, ch in enumerate(tree.children):
        x[k + t] = np.mean([x[c] for c in ch])
    return x, y, order
