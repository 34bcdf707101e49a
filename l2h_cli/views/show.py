"""`l2h show`: the tree as text, collapsed to fit a screen. Terminal side only (rich)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from rich.text import Text
from rich.tree import Tree as RichTree

from .layout import NodeStats, node_stats
from ..trees.tree import Tree


def _describe(tree: Tree, stats: NodeStats, node: int, classes: Sequence[str] | None,
              collapsed: bool) -> Text:
    k = tree.n_leaves
    text = Text()
    if node < k:
        text.append(tree.names[node], style="bold")
    else:
        text.append(f"{stats.n_leaves[node]} leaves", style="cyan")
        if collapsed:
            shown = ", ".join(tree.names[v] for v in tree.first_leaves(node, 3))
            text.append(f" [{shown}{', ...' if stats.n_leaves[node] > 3 else ''}]", style="dim")
    parts = []
    if stats.points is not None:
        parts.append(f"{int(stats.points[node])} pts")
    if stats.confidence is not None and not np.isnan(stats.confidence[node]):
        parts.append(f"conf {stats.confidence[node]:.2f}")
    if stats.purity is not None and not np.isnan(stats.purity[node]):
        label = f" ({classes[stats.majority[node]]})" if classes is not None else ""
        parts.append(f"purity {stats.purity[node]:.2f}{label}")
    if node >= k:
        strength = tree.merge_stats.get("strength")
        if strength is not None and not np.isnan(strength[node - k]):
            parts.append(f"strength {strength[node - k]:.2f}")
        parts.append(f"h {tree.heights[node - k]:g}")
    if parts:
        text.append("  " + " · ".join(parts), style="dim" if node >= k else "")
    return text


def expanded_nodes(tree: Tree, max_lines: int, depth: int | None) -> set[int]:
    """Internal nodes to open: down to `depth`, or else the biggest first while the view
    stays within `max_lines` lines."""
    k = tree.n_leaves
    if tree.n_nodes == 1:
        return set()
    if depth is not None:
        depths = tree.depths()
        return {v for v in range(k, tree.n_nodes) if depths[v] < depth}
    counts = tree.leaf_counts()
    opened: set[int] = set()
    frontier = [tree.root]
    lines = 1
    while frontier:
        frontier.sort(key=lambda v: -counts[v])
        node = frontier.pop(0)
        kids = tree.children[node - k]
        if lines + len(kids) > max_lines:
            break
        opened.add(node)
        lines += len(kids)
        frontier.extend(c for c in kids if c >= k)
    return opened


def render_text(tree: Tree, label_counts: np.ndarray | None = None,
                classes: Sequence[str] | None = None, max_lines: int = 60,
                depth: int | None = None, max_children: int = 20) -> RichTree:
    k = tree.n_leaves
    stats = node_stats(tree, label_counts)
    opened = expanded_nodes(tree, max_lines, depth)
    root = RichTree(_describe(tree, stats, tree.root, classes, tree.root not in opened
                              and tree.root >= k))
    stack = [(tree.root, root)]
    while stack:
        node, view = stack.pop()
        if node < k or node not in opened:
            continue
        kids = list(tree.children[node - k])
        for child in kids[:max_children]:
            branch = view.add(_describe(tree, stats, child, classes,
                                        child >= k and child not in opened))
            stack.append((child, branch))
        if len(kids) > max_children:
            view.add(Text(f"... {len(kids) - max_children} more children", style="dim"))
    return root
