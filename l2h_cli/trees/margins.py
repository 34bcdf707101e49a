"""Which merges to trust: the decision margins the build records (docs/algorithm.md)."""

from __future__ import annotations

import math
from typing import Any

from .tree import Tree

#: Below this relative margin a merge can flip under float32 noise in the logits.
CLOSE_MARGIN = 1e-6


def close_merges(tree: Tree, threshold: float = CLOSE_MARGIN) -> list[dict[str, Any]]:
    """The merges whose lowest-score or best-relation decision had a relative margin below
    `threshold` (merges without a runner-up, or of empty clusters, have none).

    >>> import numpy as np
    >>> t = Tree(3, [(0, 1), (3, 2)], [1.0, 2.0],
    ...          merge_stats={"margin_low": np.array([1e-9, 0.5]),
    ...                       "margin_best": np.array([0.2, np.nan])})
    >>> [m["step"] for m in close_merges(t)]
    [0]
    """
    low = tree.merge_stats.get("margin_low")
    best = tree.merge_stats.get("margin_best")
    if low is None or best is None:
        return []
    out = []
    for t, (a, b) in enumerate(zip(low, best)):
        if (not math.isnan(a) and a < threshold) or (not math.isnan(b) and b < threshold):
            out.append({"step": t, "node": tree.n_leaves + t, "margin_low": float(a),
                        "margin_best": float(b)})
    return out
