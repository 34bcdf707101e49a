"""`L2H`, the hierarchy as a scikit-learn style estimator (no scikit-learn needed)."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from .engine.build import DEFAULT_MEMORY, build_hierarchy
from .evaluation.evaluate import leaf_blocks
from .readers import ArrayReader, LogitReader, open_logits
from .trees.tree import Tree


class L2H:
    """Logits to Hierarchies over the K clusters (columns) of logit matrices.

    Parameters follow build_hierarchy; `n_clusters` cuts the tree for `labels_` and
    `predict`. After `fit`: `tree_` (a Tree), `children_` ((K-1) x 2 node ids in scipy's
    numbering, as in AgglomerativeClustering), `n_leaves_`, and `labels_` (the group of each
    fitted point, when n_clusters is set).

    >>> import numpy as np
    >>> z = np.eye(4)[[0, 1, 2, 3, 0, 1, 2]] * 4.0 + np.array([0, 0.5, 0, 0.5])
    >>> model = L2H(n_clusters=2).fit(z)
    >>> model.n_leaves_, model.children_.shape
    (4, (3, 2))
    >>> model.tree_.cut(2).tolist()       # the group of each leaf
    [0, 0, 0, 1]
    >>> model.predict(z[:4]).tolist()     # the group of each point's argmax leaf
    [0, 0, 0, 1]
    """

    def __init__(self, n_clusters: int | None = None, aggregate: str = "sum",
                 strategy: str = "lowest", input: str = "logits", temperature: float = 1.0,
                 memory: int | str = DEFAULT_MEMORY, keep_absent: bool = False) -> None:
        self.n_clusters = n_clusters
        self.aggregate = aggregate
        self.strategy = strategy
        self.input = input
        self.temperature = temperature
        self.memory = memory
        self.keep_absent = keep_absent

    # scikit-learn's parameter protocol, so sklearn.base.clone and grid searches work.
    @classmethod
    def _param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> "L2H":
        for name, value in params.items():
            if name not in self._param_names():
                raise ValueError(f"invalid parameter {name!r} for L2H")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items()
                   if v != inspect.signature(L2H.__init__).parameters[k].default}
        return f"L2H({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    def fit(self, X: Any, y: Any = None) -> "L2H":
        """Build the hierarchy of X's columns. X: an N x K array, a reader, or a path."""
        self.tree_: Tree = build_hierarchy(X, input=self.input, aggregate=self.aggregate,
                                           strategy=self.strategy, memory=self.memory,
                                           temperature=self.temperature,
                                           keep_absent=self.keep_absent)
        self.n_leaves_ = self.tree_.n_leaves
        self.children_ = np.array(self.tree_.children, dtype=np.int64).reshape(-1, 2)
        if self.n_clusters is not None:
            self.labels_ = self.predict(X)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The group (of the cut to n_clusters) of each point: that of its argmax leaf."""
        if not hasattr(self, "tree_"):
            raise ValueError("this L2H is not fitted yet; call fit first")
        if self.n_clusters is None:
            raise ValueError("predict needs n_clusters (the number of groups to cut to)")
        groups = self.tree_.cut(self.n_clusters)
        if isinstance(X, LogitReader):
            return np.concatenate([groups[a] for a in leaf_blocks(X, self.tree_)])
        with (open_logits(X) if isinstance(X, str) else ArrayReader(X)) as reader:
            return np.concatenate([groups[a] for a in leaf_blocks(reader, self.tree_)])

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        if self.n_clusters is None:
            raise ValueError("fit_predict needs n_clusters (the number of groups to cut to)")
        return self.fit(X).labels_
