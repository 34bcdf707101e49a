"""`l2h render` to .png/.svg/.pdf with matplotlib (the optional `plot` extra).

Rectangular dendrogram, or circular past 150 leaves so 1000 names stay legible. Links are
drawn as one LineCollection (fast at any size), leaves coloured by group with a legend.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import UsageError
from .layout import positions, subtree_colors
from ..trees.tree import Tree

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
           "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363"]


def group_colors(groups: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """A colour per leaf, and the legend (group -> colour) in order of first appearance."""
    legend: dict[str, str] = {}
    for g in groups:
        if g not in legend:
            legend[g] = PALETTE[len(legend) % len(PALETTE)]
    return [legend[g] for g in groups], legend


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


def render_figure(tree: Tree, path: str, fmt: str, groups: Sequence[str] | None = None,
                  purity: np.ndarray | None = None, circular: bool | None = None) -> None:
    plt = _pyplot()
    from matplotlib.collections import LineCollection

    k = tree.n_leaves
    x, y, order = positions(tree)
    top = float(y.max()) if k > 1 else 1.0
    circular = k > 150 if circular is None else circular
    colors, legend = group_colors(groups) if groups is not None else (["#222222"] * k, {})
    # A subtree whose leaves all share a group is drawn in that group's colour.
    node_color = subtree_colors(tree, colors if groups is not None else [None] * k)
    grey = "#555555"
    segments, seg_colors = [], []
    for t, ch in enumerate(tree.children):
        node = k + t
        for c in ch:
            segments.append([(x[c], y[c]), (x[c], y[node])])
            seg_colors.append(node_color[c] or grey)
        xs = [x[c] for c in ch]
        segments.append([(min(xs), y[node]), (max(xs), y[node])])
        seg_colors.append(node_color[node] or grey)
    label = [tree.names[v] + (f" ({purity[v]:.2f})" if purity is not None else "")
             for v in range(k)]
    font = float(np.clip(900 / max(k, 1), 2.0, 10.0))
    if circular:
        fig = plt.figure(figsize=(14, 14) if k > 400 else (10, 10))
        ax = fig.add_subplot(projection="polar")
        theta = lambda v: 2 * np.pi * v / k  # noqa: E731
        radius = lambda h: top - h + 0.02 * top  # noqa: E731
        polar = []
        for (x0, y0), (x1, y1) in segments:
            if x0 == x1:
                polar.append([(theta(x0), radius(y0)), (theta(x1), radius(y1))])
            else:
                arc = np.linspace(theta(x0), theta(x1), max(2, int(abs(x1 - x0)) + 2))
                polar.append(list(zip(arc, np.full(len(arc), radius(y0)))))
        ax.add_collection(LineCollection(polar, colors=seg_colors, linewidths=0.6))
        outer = radius(0)
        if groups is not None:
            width = 2 * np.pi / k
            ax.bar([theta(x[v]) for v in range(k)], 0.025 * outer, width=width,
                   bottom=outer * 1.003, color=colors, linewidth=0)
        for v in range(k):
            ang = theta(x[v])
            deg = np.degrees(ang)
            flip = 90 < deg < 270
            ax.text(ang, outer * 1.035, label[v], rotation=deg + (180 if flip else 0),
                    rotation_mode="anchor", ha="right" if flip else "left", va="center",
                    fontsize=font, color=colors[v])
        ax.set_ylim(0, outer * 1.25)
        ax.set_axis_off()
    else:
        fig, ax = plt.subplots(figsize=(min(60, max(8, k * 0.18)), 7))
        ax.add_collection(LineCollection(segments, colors=seg_colors, linewidths=0.8))
        for v in range(k):
            ax.text(x[v], -0.01 * top, label[v], rotation=90, ha="center", va="top",
                    fontsize=font, color=colors[v])
        ax.set_xlim(-1, k)
        ax.set_ylim(-0.02 * top, top * 1.03)
        ax.set_ylabel("merge height")
        for side in ("top", "right", "bottom"):
            ax.spines[side].set_visible(False)
        ax.set_xticks([])
    if legend:
        from matplotlib.patches import Patch
        handles = [Patch(color=c, label=g) for g, c in legend.items()]
        fig.legend(handles=handles, loc="upper right", fontsize=8, ncol=1 + len(handles) // 25,
                   frameon=False)
    fig.savefig(path, format=fmt, dpi=150, bbox_inches="tight")
    plt.close(fig)
