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

# Before the imports: the JSON writer reads it.
__version__ = "0.1.0"

from .engine.build import build_hierarchy
from .errors import InputError, L2HError, L2HWarning, OutputError, UsageError
from .estimator import L2H
from .evaluation.evaluate import evaluate
from .readers import ArrayReader, SparseArrayReader, open_logits
from .trees.tree import Tree
from .trees.treeio import load_tree

__all__ = ["build_hierarchy", "evaluate", "load_tree", "open_logits", "L2H", "Tree",
           "ArrayReader", "SparseArrayReader", "InputError", "L2HError", "L2HWarning",
           "OutputError", "UsageError"]
