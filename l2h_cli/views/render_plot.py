"""`l2h render` to .png/.svg/.pdf with matplotlib (the optional `plot` extra).

A tree of thousands of leaves cannot show every name legibly on a page, so by default the
figure shows the tree cut to at most `max_leaves` tips, as scipy's
``dendrogram(truncate_mode="lastp")`` does: the last merges are drawn, and each subtree below
the cut is one triangle labelled with its number of leaves and what is in it. Labels are never
drawn smaller than `MIN_FONT`; when the tips are too close for that, the labels are left out
and the figure's key says so. The legend sits above the drawing, the key below it.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from typing import Sequence

import numpy as np

from ..errors import UsageError
from ..trees.tree import Tree
from .layout import NodeStats, open_nodes, subtree_colors, top_leaves, visible_tips
from .palette import group_colors

MIN_FONT = 6.0       # points: anything smaller is not read, only guessed
MAX_FONT = 9.0
LABEL_CHARS = 60
GREY = "#666666"


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise UsageError("drawing .png/.svg/.pdf needs matplotlib: pip install 'l2h[plot]' "
                         "(.html needs nothing more)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams["svg.fonttype"] = "none"  # leaf names stay searchable text in SVG
    return plt


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def tip_label(tree: Tree, node: int, stats: NodeStats, classes: Sequence[str] | None) -> str:
    """A leaf's name, or for a collapsed subtree its size and what it holds: its majority
    label (with labels) or else the names of its leaves with the most points."""
    purity = stats.purity[node] if stats.purity is not None else np.nan
    share = f" ({purity:.2f})" if np.isfinite(purity) else ""
    if node < tree.n_leaves:
        return _short(tree.names[node]) + share
    head = f"{int(stats.n_leaves[node]):,} leaves"
    if classes is not None and share:
        return _short(f"{head}: mostly {classes[int(stats.majority[node])]}{share}")
    names = [tree.names[v] for v in top_leaves(tree, node, 2)]
    return _short(f"{head}: " + ", ".join(names) + ", …")


def _tip_color(tree: Tree, node: int, leaf_colors: list, node_color: list) -> tuple:
    """A collapsed subtree's fill: its group's colour when its leaves share one, else the
    most common group's colour, paler."""
    from matplotlib.colors import to_rgba

    if node_color[node]:
        return to_rgba(node_color[node], 0.85)
    common = Counter(leaf_colors[v] for v in tree.leaves_of(node)).most_common(1)[0][0]
    return to_rgba(common or "#bbbbbb", 0.35 if common else 0.8)


def render_figure(tree: Tree, path, fmt: str, stats: NodeStats,
                  groups: Sequence[str] | None = None, classes: Sequence[str] | None = None,
                  circular: bool | None = None, max_leaves: int | None = 100) -> None:
    """Draw `tree` to `path` (a file name or binary file) in `fmt` (png, svg or pdf).

    `stats` from `node_stats`; `groups` one name per leaf, to colour by; `classes` the label
    names behind `stats.majority`; `circular` None chooses (circular past 150 tips);
    `max_leaves` None draws every leaf.
    """
    plt = _pyplot()
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.patches import Patch

    k = tree.n_leaves
    opened = (set(range(k, tree.n_nodes)) if max_leaves is None or max_leaves >= k
              else open_nodes(tree, max_leaves, by="merge"))
    tips, post = visible_tips(tree, opened)
    m = len(tips)
    circular = m > 150 if circular is None else circular

    leaf_colors, legend = (group_colors(tree, groups) if groups is not None
                           else ([None] * k, {}))
    node_color = subtree_colors(tree, leaf_colors)
    slot = np.zeros(tree.n_nodes)
    slot[tips] = np.arange(m)
    for v in post:
        kids = tree.children[v - k]
        slot[v] = (slot[kids[0]] + slot[kids[-1]]) / 2
    height = np.concatenate([np.zeros(k), tree.heights])
    top = float(height[tree.root]) if k > 1 else 1.0
    low = min((height[v] for v in opened), default=top)
    # Collapsed tips stand at the cut, a little below the lowest merge still drawn.
    base = 0.0 if all(v < k for v in tips) else low - 0.04 * max(top - low, 1.0)
    height[tips] = base
    span = max(top - base, 1e-9)
    depth = (top - height) / span        # 0 at the root, 1 at the tips
    tri = 0.12                           # longest triangle, in the same unit

    def tri_len(v: int) -> float:
        return tri * (0.3 + 0.7 * np.log(stats.n_leaves[v]) / np.log(max(k, 2)))

    segments, seg_colors = [], []        # in (depth, slot) space, mapped below
    for v in post:
        kids = tree.children[v - k]
        for c in kids:
            segments.append([(depth[v], slot[c]), (depth[c], slot[c])])
            seg_colors.append(node_color[c] or GREY)
        segments.append([(depth[v], slot[kids[0]]), (depth[v], slot[kids[-1]])])
        seg_colors.append(node_color[v] or GREY)
    triangles, tri_colors = [], []
    for v in tips:
        if v >= k:
            triangles.append([(1, slot[v]), (1 + tri_len(v), slot[v] - 0.38),
                              (1 + tri_len(v), slot[v] + 0.38)])
            tri_colors.append(_tip_color(tree, v, leaf_colors, node_color))
    labels = [tip_label(tree, v, stats, classes) for v in tips]
    label_at = 1 + (tri if any(v >= k for v in tips) else 0) + 0.02

    if circular:
        fig = plt.figure(figsize=(12, 12))
        ax = fig.add_axes((0.02, 0.06, 0.96, 0.9))
        reach = label_at + 0.45
        pitch = 2 * np.pi * (0.9 * 12 * 72 / 2 / reach) / max(m, 1)
        font = min(MAX_FONT, 0.8 * pitch)
        if font < MIN_FONT:  # no labels: give their room to the tree
            reach = label_at

        def to_xy(points):
            out = []
            for (d, s) in points:
                a = 2 * np.pi * s / m
                out.append((d * np.cos(a), d * np.sin(a)))
            return out

        arcs = []
        for seg in segments:
            (d0, s0), (d1, s1) = seg
            if d0 == d1:   # a node's span of its children: an arc
                # Enough points for a smooth arc, never more than 200 however long it is.
                n = min(200, int(abs(s1 - s0) * 8 / max(m / 100, 1)) + 2)
                steps = np.linspace(s0, s1, n)
                arcs.append(to_xy([(d0, s) for s in steps]))
            else:
                arcs.append(to_xy(seg))
        ax.add_collection(LineCollection(arcs, colors=seg_colors, linewidths=0.7))
        if triangles:
            ax.add_collection(PolyCollection([to_xy(t) for t in triangles], facecolors=tri_colors,
                                             edgecolors="#888888", linewidths=0.3))
        ax.set_xlim(-reach, reach)
        ax.set_ylim(-reach, reach)
        ax.set_aspect("equal")
        ax.set_axis_off()
        if font >= MIN_FONT:
            for i, (v, text) in enumerate(zip(tips, labels)):
                deg = 360 * i / m
                flip = 90 < deg < 270
                ax.text(label_at * np.cos(np.radians(deg)), label_at * np.sin(np.radians(deg)),
                        text, rotation=deg + (180 if flip else 0), rotation_mode="anchor",
                        ha="right" if flip else "left", va="center", fontsize=font,
                        color=leaf_colors[v] if v < k and leaf_colors[v] else "#222222")
        axis_note = "Distance from the centre: merge height, the root in the middle."
    else:
        rows_in = float(np.clip(0.17 * m + 0.6, 3.0, 120.0))
        fig = plt.figure(figsize=(11, rows_in + 1.6))
        ax = fig.add_axes((0.04, 1.2 / (rows_in + 1.6), 0.5, rows_in / (rows_in + 1.6)))
        pitch = rows_in * 72 / max(m, 1)
        ax.add_collection(LineCollection(segments, colors=seg_colors, linewidths=0.8))
        if triangles:
            ax.add_collection(PolyCollection(triangles, facecolors=tri_colors,
                                             edgecolors="#888888", linewidths=0.3))
        font = min(MAX_FONT, 0.8 * pitch)
        if font >= MIN_FONT:
            for v, s, text in zip(tips, range(m), labels):
                ax.text(label_at, s, text, ha="left", va="center", fontsize=font,
                        color=leaf_colors[v] if v < k and leaf_colors[v] else "#222222")
        ax.set_xlim(-0.01, 1 + tri + 0.01)
        ax.set_ylim(m - 0.5, -0.5)
        ticks = np.linspace(0, 1, 5)
        ax.set_xticks(ticks, [f"{top - t * span:,.0f}" if span > 20 else f"{top - t * span:.3g}"
                              for t in ticks], fontsize=7)
        ax.set_yticks([])
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.spines["bottom"].set_bounds(0, 1)
        axis_note = "Horizontal axis: merge height (the merge step), the root on the left."

    key = [f"{m:,} tips for {k:,} leaves." if m < k else f"All {k:,} leaves."]
    if m < k:
        key.append("A triangle is a subtree collapsed at the cut: its number of leaves, then "
                   + ("its most frequent label and the share of its points that carry it."
                      if classes is not None else
                      "the names of its leaves with the most points." if tree.sizes is not None
                      else "the names of its first leaves."))
    if stats.purity is not None:
        key.append("(0.90) after a leaf: its purity, the share of its labelled points that "
                   "carry its majority label.")
    if font < MIN_FONT:
        key.append(f"Names left out: tips are {pitch:.1f} pt apart, too close for a legible "
                   f"{MIN_FONT:g} pt label; draw fewer tips to read them.")
    if legend:
        key.append("Colours: the groups of the legend; a subtree whose leaves all share a "
                   "group is drawn in its colour, a triangle of mixed groups in its most "
                   "common group's colour, paler.")
    key.append(axis_note)
    fig.text(0.04, 0.05 if circular else 0.9 / (rows_in + 1.6),
             "\n".join(textwrap.fill(line, 120) for line in key),
             fontsize=8, va="top", ha="left", color="#333333")
    if legend:
        handles = [Patch(color=c, label=_short(g)) for g, c in legend.items()]
        fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.04, 0.995),
                   ncol=min(6, 1 + (len(handles) - 1) // 8), fontsize=7, frameon=False,
                   handlelength=1.2, columnspacing=1.0)
    fig.savefig(path, format=fmt, dpi=150, bbox_inches="tight")
    plt.close(fig)
