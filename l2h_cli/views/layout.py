"""Per-node statistics, which nodes to open, and drawing positions: shared by `show`, the
figures and the page.

A big tree is shown collapsed: some internal nodes are "open" (their children are drawn) and
the rest stand for their whole subtree as one tip. Nothing here recurses, so 100,000-deep chains
lay out fine.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from ..evaluation.metrics import LeafCounts, node_majority
from ..trees.tree import Tree


@dataclass
class NodeStats:
    n_leaves: np.ndarray          # per node
    points: np.ndarray | None     # per node: points assigned to its leaves (None: unknown)
    confidence: np.ndarray | None  # per node: mean confidence of those points
    purity: np.ndarray | None     # per node: share of its points with its majority label
    majority: np.ndarray | None   # per node: index of that label


def node_stats(tree: Tree, label_counts: LeafCounts | None = None) -> NodeStats:
    """Leaves, points, mean confidence per node, and with `label_counts` (labelled points per
    leaf, sparse) purity and majority label, without a nodes x labels table."""
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
        totals, majority, best = node_majority(tree, label_counts)
        with np.errstate(invalid="ignore", divide="ignore"):
            purity = np.where(totals > 0, best / totals, np.nan)
    return NodeStats(n_leaves, points, conf, purity, majority)


def open_nodes(tree: Tree, max_rows: int, by: str = "size", rows: str = "tips") -> set[int]:
    """The internal nodes to open so that the view stays within `max_rows` rows.

    `by="size"` opens the nodes with the most leaves first (for browsing); `by="merge"` opens
    the last merges first, so the tips are the groups of a cut, as scipy's
    ``dendrogram(truncate_mode="lastp")`` shows them. `rows="tips"` counts the tips (a node
    with c children adds c - 1), `rows="lines"` every node shown (it adds c).

    >>> t = Tree(4, [(0, 1), (2, 3), (4, 5)], [1.0, 2.0, 3.0])
    >>> sorted(open_nodes(t, 2, by="merge")), sorted(open_nodes(t, 3, by="merge"))
    ([6], [5, 6])
    """
    k = tree.n_leaves
    if tree.n_nodes == 1:
        return set()
    priority = -tree.leaf_counts() if by == "size" else -np.arange(tree.n_nodes)
    extra = 1 if rows == "tips" else 0
    opened: set[int] = set()
    heap = [(priority[tree.root], tree.root)]
    shown = 1
    while heap:
        _, node = heapq.heappop(heap)
        kids = tree.children[node - k]
        if shown + len(kids) - extra > max_rows:
            break
        opened.add(node)
        shown += len(kids) - extra
        for c in kids:
            if c >= k:
                heapq.heappush(heap, (priority[c], c))
    return opened


def open_to_depth(tree: Tree, depth: int) -> set[int]:
    """The internal nodes less than `depth` edges below the root."""
    depths = tree.depths()
    return {v for v in range(tree.n_leaves, tree.n_nodes) if depths[v] < depth}


def visible_tips(tree: Tree, opened: set[int]) -> tuple[list[int], list[int]]:
    """The tips (leaves and closed nodes) in drawing order, and the open nodes, children
    before parents."""
    k = tree.n_leaves
    tips: list[int] = []
    post: list[int] = []
    stack = [(tree.root, False)]
    while stack:
        node, done = stack.pop()
        if node < k or node not in opened:
            tips.append(node)
        elif done:
            post.append(node)
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(tree.children[node - k]))
    return tips, post


def top_leaves(tree: Tree, node: int, count: int) -> list[int]:
    """The `count` leaves of `node` with the most points (its first leaves when sizes are
    unknown): what a collapsed subtree is labelled with."""
    if tree.sizes is None:
        return tree.first_leaves(node, count)
    leaves = np.asarray(tree.leaves_of(node))
    sizes = np.asarray(tree.sizes)[leaves]
    return leaves[np.argsort(-sizes, kind="stable")[:count]].tolist()


def subtree_colors(tree: Tree, leaf_colors: list[str | None]) -> list[str | None]:
    """Per node, the colour its leaves all share, or None when they differ."""
    colors = list(leaf_colors) + [None] * len(tree.children)
    for t, ch in enumerate(tree.children):
        kids = {colors[c] for c in ch}
        colors[tree.n_leaves + t] = kids.pop() if len(kids) == 1 else None
    return colors
