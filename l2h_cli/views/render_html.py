"""`l2h render` to a single self-contained .html page: no network, no CDN, everything inline.

The tree travels as JSON columns (one array per field, children as one flat list with
offsets), and `page.js` draws it on a canvas: only the labels of the rows in view are DOM
elements, so 21,843 leaves opened in full stay light. Click a node to open or collapse it,
wheel to zoom, drag to pan, type to search (Enter: next match; the path to each match is opened
and drawn in red), hover for details.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from typing import Sequence

import numpy as np

from ..trees.tree import Tree
from .layout import NodeStats, open_nodes, subtree_colors
from .palette import group_colors

FIRST_VIEW_ROWS = 60   # rows shown when the page opens: fit a laptop screen at 14 px a row


def _column(values: np.ndarray | None, digits: int) -> list | None:
    if values is None:
        return None
    v = np.asarray(values, dtype=np.float64)
    return [None if not np.isfinite(x) else round(float(x), digits) for x in v]


def page(tree: Tree, stats: NodeStats, title: str, groups: Sequence[str] | None = None,
         classes: Sequence[str] | None = None) -> str:
    """The page for `tree`, as one string of HTML.

    `stats` from `node_stats` (sizes, confidence, purity); `groups` one name per leaf, to
    colour by; `classes` the label names behind `stats.majority`.
    """
    k = tree.n_leaves
    leaf_colors, legend = (group_colors(tree, groups) if groups is not None
                           else ([None] * k, {}))
    index = {c: i for i, c in enumerate(legend.values())}
    node_color = subtree_colors(tree, leaf_colors)
    kid_start = np.zeros(len(tree.children) + 1, dtype=np.int64)
    kid_start[1:] = np.cumsum([len(ch) for ch in tree.children])
    data = {
        "title": title, "k": k, "root": tree.root,
        "names": [str(n) for n in tree.names[:k]] + [""] * len(tree.children),
        "heights": [float(h) for h in tree.heights],
        "kid_start": kid_start.tolist(),
        "kids": [int(c) for ch in tree.children for c in ch],
        "open": sorted(open_nodes(tree, FIRST_VIEW_ROWS)),
        "groups": [[str(g), c] for g, c in legend.items()],
        "color": [index[c] if c else -1 for c in node_color],
        "size": None if stats.points is None else stats.points.astype(np.int64).tolist(),
        "conf": _column(stats.confidence, 4),
        "purity": _column(stats.purity, 4),
        "major": None if stats.majority is None or classes is None
        else stats.majority.tolist(),
        "classes": None if classes is None else [str(c) for c in classes],
        # Margins matter down to 1e-9: keep their small values.
        "merge": {key: _column(values, 15 if key.startswith("margin") else 4)
                  for key, values in tree.merge_stats.items()},
    }
    # No "<" may reach the <script> element ("</script>", "<!--" and "<script" all change
    # how the browser reads it); JSON's \u003c escape keeps the text the same.
    payload = (json.dumps(data, separators=(",", ":"), allow_nan=False)
               .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
    views = resources.files(__package__)
    fills = {"__TITLE__": html.escape(title), "__DATA__": payload,
             "__SCRIPT__": views.joinpath("page.js").read_text(encoding="utf-8")}
    # One pass, so a title or name that contains a placeholder is not filled in again.
    return re.sub("__TITLE__|__DATA__|__SCRIPT__", lambda m: fills[m.group()],
                  views.joinpath("page.html").read_text(encoding="utf-8"))
