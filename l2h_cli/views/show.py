"""`l2h show`: the tree as indented text, collapsed to fit a screen.

Lines come out as (text, style) pieces with plain style names ("name", "count", "dim"), so the
terminal side chooses colours. Indentation stops growing past `MAX_INDENT` levels (the depth is
printed instead), so a 20,000-deep chain prints in linear time and within the screen width.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..trees.tree import Tree
from .layout import NodeStats, open_nodes, open_to_depth, top_leaves

MAX_INDENT = 12
Line = list[tuple[str, str]]


def _describe(tree: Tree, stats: NodeStats, node: int, classes: Sequence[str] | None,
              collapsed: bool) -> Line:
    k = tree.n_leaves
    if node < k:
        pieces = [(tree.names[node], "name")]
    else:
        pieces = [(f"{stats.n_leaves[node]} leaves", "count")]
        if collapsed:
            shown = ", ".join(tree.names[v] for v in top_leaves(tree, node, 3))
            more = ", ..." if stats.n_leaves[node] > 3 else ""
            pieces.append((f" [{shown}{more}]", "dim"))
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
        pieces.append(("  " + " · ".join(parts), "dim" if node >= k else ""))
    return pieces


def text_lines(tree: Tree, stats: NodeStats, classes: Sequence[str] | None = None,
               max_lines: int = 60, depth: int | None = None,
               max_children: int = 20) -> list[Line]:
    """The tree as lines of (text, style) pieces: nodes down to `depth`, or else the biggest
    nodes opened first while the view stays within `max_lines` lines.

    >>> from l2h_cli.views.layout import node_stats
    >>> t = Tree(3, [(0, 1), (3, 2)], [1.0, 2.0], ["a", "b", "c"])
    >>> for line in text_lines(t, node_stats(t)):
    ...     print("".join(text for text, _ in line))
    3 leaves  h 2
    ├── 2 leaves  h 1
    │   ├── a
    │   └── b
    └── c
    """
    k = tree.n_leaves
    opened = (open_to_depth(tree, depth) if depth is not None
              else open_nodes(tree, max_lines, by="size", rows="lines"))
    lines: list[Line] = []
    # (node, depth, the guides of its last MAX_INDENT ancestors, is it the last child);
    # a negative node -m stands for m children left out.
    stack: list[tuple[int, int, str, bool | None]] = [(tree.root, 0, "", None)]
    while stack:
        node, level, guides, last = stack.pop()
        if last is None:
            prefix = ""
        else:
            deep = f"[{level}] " if level > MAX_INDENT else ""
            prefix = deep + guides + ("└── " if last else "├── ")
        if node < 0:   # stands for the children past max_children
            lines.append([(prefix, "dim"), (f"... {-node} more children", "dim")])
            continue
        is_open = node >= k and node in opened
        lines.append([(prefix, "dim")] + _describe(tree, stats, node, classes,
                                                     node >= k and not is_open))
        if not is_open:
            continue
        if last is not None:
            guides = (guides + ("    " if last else "│   "))[-4 * MAX_INDENT:]
        kids = list(tree.children[node - k])
        if len(kids) > max_children:
            stack.append((-len(kids) + max_children, level + 1, guides, True))
            kids = kids[:max_children]
        for i, child in reversed(list(enumerate(kids))):
            stack.append((child, level + 1, guides,
                          i == len(kids) - 1 and len(tree.children[node - k]) <= max_children))
    return lines
