"""l2h: Logits to Hierarchies.

Build the hierarchy of a flat model's clusters from its logits, evaluate it, cut it:

    >>> import numpy as np
    >>> from l2h_cli import build_hierarchy, evaluate
    >>> logits = np.random.default_rng(0).normal(size=(500, 6))
    >>> tree = build_hierarchy(logits)           # an (N, K) array, a reader, or a path
    >>> tree.to_linkage().shape                  # a scipy linkage matrix
    (5, 4)
    >>> tree.cut(2).shape                        # the group of each leaf
    (6,)
    >>> sorted(evaluate(tree, logits, np.arange(500) % 3))[:3]
    ['acc', 'ari', 'cut_k']
"""

__version__ = "0.1.0"

import importlib
from typing import TYPE_CHECKING, Any

# Imported on first use (PEP 562), so `l2h build` does not pay for SciPy's optimiser and sparse
# matrices (a third of a second) that only evaluation needs.
_EXPORTS = {
    "build_hierarchy": ".engine.build", "evaluate": ".evaluation.evaluate",
    "load_tree": ".trees.treeio", "open_logits": ".readers", "L2H": ".estimator",
    "Tree": ".trees.tree", "ArrayReader": ".readers", "SparseArrayReader": ".readers",
    "InputError": ".errors", "L2HError": ".errors", "L2HWarning": ".errors",
    "OutputError": ".errors", "UsageError": ".errors",
}
__all__ = ["build_hierarchy", "evaluate", "load_tree", "open_logits", "L2H", "Tree",
           "ArrayReader", "SparseArrayReader", "InputError", "L2HError", "L2HWarning",
           "OutputError", "UsageError"]

if TYPE_CHECKING:
    from .engine.build import build_hierarchy
    from .errors import InputError, L2HError, L2HWarning, OutputError, UsageError
    from .estimator import L2H
    from .evaluation.evaluate import evaluate
    from .readers import ArrayReader, SparseArrayReader, open_logits
    from .trees.tree import Tree
    from .trees.treeio import load_tree


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
