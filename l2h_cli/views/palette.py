"""Colours for leaf groups (`--color-by`) that stay apart for many groups.

Up to 20 groups get 20 distinct colours. Past that, a cycling palette would give far-apart
groups the same colour, so colours follow the tree instead: it is cut into at most ten
top-level branches, each gets a hue, and the groups inside a branch get shades of it (a group
belongs to the branch that holds most of its leaves). Neighbouring shades are spread apart.
"""

from __future__ import annotations

import colorsys
from collections import Counter
from typing import Sequence

from ..trees.tree import Tree
from .layout import open_nodes, visible_tips

DISTINCT = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
            "#c5b0d5", "#c49c94", "#f7b6d2", "#393b79", "#dbdb8d", "#9edae5"]
HUES = DISTINCT[:10]


def _shade(color: str, lightness: float) -> str:
    r, g, b = (int(color[i:i + 2], 16) / 255 for i in (1, 3, 5))
    h, _, s = colorsys.rgb_to_hls(r, g, b)
    r, g, b = colorsys.hls_to_rgb(h, lightness, max(s, 0.45))
    return "#" + "".join(f"{round(255 * c):02x}" for c in (r, g, b))


def _spread(n: int) -> list[float]:
    """n lightness values in [0.25, 0.75], consecutive ones far apart."""
    if n == 1:
        return [0.45]
    steps = [0.25 + 0.5 * i / (n - 1) for i in range(n)]
    half = (n + 1) // 2
    return [steps[i // 2 + (half if i % 2 else 0)] for i in range(n)]


def group_colors(tree: Tree, groups: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """A colour per leaf, and the legend (group -> colour) in the tree's leaf order.

    >>> t = Tree(3, [(0, 1), (3, 2)], [1.0, 2.0])
    >>> group_colors(t, ["a", "b", "a"])
    (['#1f77b4', '#ff7f0e', '#1f77b4'], {'a': '#1f77b4', 'b': '#ff7f0e'})
    """
    order = list(dict.fromkeys(groups[v] for v in tree.leaves_of(tree.root)))
    if len(order) <= len(DISTINCT):
        legend = {g: DISTINCT[i] for i, g in enumerate(order)}
    else:
        branches, _ = visible_tips(tree, open_nodes(tree, len(HUES), by="merge"))
        votes: dict[str, Counter] = {g: Counter() for g in order}
        for b, top in enumerate(branches):
            for leaf in tree.leaves_of(top):
                votes[groups[leaf]][b] += 1
        home = {g: votes[g].most_common(1)[0][0] for g in order}
        legend = {}
        for b in range(len(branches)):
            members = [g for g in order if home[g] == b]
            for g, light in zip(members, _spread(len(members))):
                legend[g] = _shade(HUES[b % len(HUES)], light)
        legend = {g: legend[g] for g in order}
    return [legend[g] for g in groups], legend
