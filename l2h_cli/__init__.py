"""l2h: Logits to Hierarchies.

    >>> from l2h_cli import build_hierarchy
    >>> tree = build_hierarchy(logits)          # an (N, K) array, or a path
    >>> tree.to_linkage()                        # scipy linkage matrix
"""

from .build import build_hierarchy
from .errors import InputError, L2HError, L2HWarning, UsageError
from .readers import ArrayReader, SparseArrayReader, open_logits
from .tree import Tree

__all__ = ["build_hierarchy", "open_logits", "ArrayReader", "SparseArrayReader", "Tree", "InputError", "L2HError", "L2HWarning",
           "UsageError"]
__version__ = "0.1.0"
