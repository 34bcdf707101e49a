"""The hierarchy: leaves 0..K-1 and internal nodes K+t in merge order, as in scipy's linkage.

Internal nodes may have more than two children (trees read from Newick); the L2H build makes
binary ones. Cutting to k groups applies merges in order until k groups remain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np

from ..errors import InputError


@dataclass
class Tree:
    n_leaves: int
    children: list[tuple[int, ...]]
    heights: np.ndarray
    names: list[str] = field(default_factory=list)
    sizes: np.ndarray | None = None
    confidences: np.ndarray | None = None
    #: The input column of each leaf, when some columns were left out as absent.
    columns: np.ndarray | None = None
    #: The input columns left out of the tree (no finite logit anywhere), when known.
    absent: np.ndarray | None = None
    #: Per merge, the statistics in MERGE_STATS that the build recorded.
    merge_stats: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    MERGE_STATS = ("margin_low", "margin_best", "strength", "runner_up_share")

    def __post_init__(self) -> None:
        self.heights = np.asarray(self.heights, dtype=np.float64)
        if not self.names:
            self.names = [str(i) for i in range(self.n_leaves)]
        self.validate(self.meta.get("source", "tree"))

    # ---- structure -------------------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        return self.n_leaves + len(self.children)

    @property
    def n_columns(self) -> int:
        """Columns of the logits the tree was built on (leaves, plus absent columns)."""
        if self.columns is None:
            return self.n_leaves
        absent = self.absent if self.absent is not None else ()
        return int(max(self.columns.max(initial=-1), max(absent, default=-1))) + 1

    @property
    def root(self) -> int:
        return self.n_nodes - 1

    @property
    def is_binary(self) -> bool:
        return all(len(ch) == 2 for ch in self.children)

    def validate(self, source: str = "tree") -> None:
        k = self.n_leaves
        if k < 1:
            raise InputError(f"{source}: a tree needs at least one leaf")
        if len(self.names) != k:
            raise InputError(f"{source}: {len(self.names)} names for {k} leaves")
        if len(self.heights) != len(self.children):
            raise InputError(f"{source}: {len(self.heights)} heights for "
                             f"{len(self.children)} internal nodes")
        used = np.zeros(self.n_nodes, dtype=bool)
        for t, ch in enumerate(self.children):
            if len(ch) < 2:
                raise InputError(f"{source}: node {k + t} has fewer than two children")
            for c in ch:
                if not 0 <= c < k + t:
                    raise InputError(f"{source}: node {k + t} uses node {c} before it exists")
                if used[c]:
                    raise InputError(f"{source}: node {c} has two parents")
                used[c] = True
        if int((~used).sum()) != 1:
            raise InputError(f"{source}: the merges leave {int((~used).sum())} roots, expected 1")

    def parents(self) -> np.ndarray:
        parent = np.full(self.n_nodes, -1, dtype=np.int64)
        for t, ch in enumerate(self.children):
            parent[list(ch)] = self.n_leaves + t
        return parent

    def leaves_of(self, node: int) -> list[int]:
        """The leaves under `node`, in group order (the children's leaves concatenated)."""
        return self.first_leaves(node, self.n_leaves)

    def first_leaves(self, node: int, limit: int) -> list[int]:
        """The first `limit` leaves of `node` in group order, without listing the rest."""
        out: list[int] = []
        stack = [node]
        while stack and len(out) < limit:
            v = stack.pop()
            if v < self.n_leaves:
                out.append(v)
            else:
                stack.extend(reversed(self.children[v - self.n_leaves]))
        return out

    def preorder(self) -> Iterator[tuple[str, int]]:
        """The tree as a flat stream of events, root first, children in order: ("leaf", id),
        ("open", node), ("next", node) between two children, ("close", node). Newick and the
        nested JSON are both written from it, without recursion.

        >>> t = Tree(3, [(0, 1), (3, 2)], [1.0, 2.0])
        >>> [e for e, _ in t.preorder()]
        ['open', 'open', 'leaf', 'next', 'leaf', 'close', 'next', 'leaf', 'close']
        """
        k = self.n_leaves
        stack: list[tuple[str, int]] = [("visit", self.root)]
        while stack:
            event, node = stack.pop()
            if event != "visit":
                yield event, node
            elif node < k:
                yield "leaf", node
            else:
                kids = self.children[node - k]
                stack.append(("close", node))
                for i, child in enumerate(reversed(kids)):
                    stack.append(("visit", child))
                    if i < len(kids) - 1:
                        stack.append(("next", node))
                yield "open", node

    def depths(self) -> np.ndarray:
        """Number of edges from the root to every node."""
        depth = np.zeros(self.n_nodes, dtype=np.int64)
        for t in range(len(self.children) - 1, -1, -1):
            node = self.n_leaves + t
            for c in self.children[t]:
                depth[c] = depth[node] + 1
        return depth

    def node_sums(self, leaf_values: np.ndarray) -> np.ndarray:
        """Per node, the sum of `leaf_values` (one row or value per leaf) over its leaves."""
        leaf_values = np.asarray(leaf_values, dtype=np.float64)
        out = np.zeros((self.n_nodes,) + leaf_values.shape[1:])
        out[: self.n_leaves] = leaf_values
        for t, ch in enumerate(self.children):
            out[self.n_leaves + t] = out[list(ch)].sum(axis=0)
        return out

    def leaf_counts(self) -> np.ndarray:
        count = np.ones(self.n_nodes, dtype=np.int64)
        for t, ch in enumerate(self.children):
            count[self.n_leaves + t] = sum(int(count[c]) for c in ch)
        return count

    # ---- cuts ------------------------------------------------------------------------
    def cut(self, k: int) -> np.ndarray:
        """Group of every leaf after merging in order until k groups remain.

        Groups are numbered 0..k-1 by their smallest leaf id. A merge of m children removes
        m-1 groups; if one would pass below k, the cut stops before it (more than k groups).

        >>> Tree(3, [(0, 1), (3, 2)], [1.0, 2.0]).cut(2)
        array([0, 0, 1])
        """
        if not 1 <= k <= self.n_leaves:
            raise InputError(f"k={k} is outside 1..{self.n_leaves}")
        owner = np.arange(self.n_nodes)
        groups = self.n_leaves
        for t, ch in enumerate(self.children):
            if groups - (len(ch) - 1) < k:
                break
            groups -= len(ch) - 1
            owner[self.n_leaves + t] = self.n_leaves + t
            for c in ch:
                owner[c] = self.n_leaves + t
        # Follow each leaf up to the last applied merge above it.
        top = owner.copy()
        for node in range(self.n_nodes - 1, -1, -1):
            if top[node] != node:
                top[node] = top[top[node]]
        leaf_top = top[: self.n_leaves]
        _, first = np.unique(leaf_top, return_index=True)
        rank = np.empty(len(first), dtype=np.int64)
        rank[np.argsort(first)] = np.arange(len(first))
        _, inverse = np.unique(leaf_top, return_inverse=True)
        return rank[inverse]

    # ---- files -----------------------------------------------------------------------
    def to_newick(self) -> str:
        """The tree as one Newick line (branch lengths from the heights).

        >>> Tree(3, [(0, 1), (3, 2)], [1.0, 2.0], ["a", "b", "c"]).to_newick()
        '((a:1.0,b:1.0):1.0,c:2.0);'
        """
        from .newick import to_newick
        return to_newick(self)

    def to_json(self) -> str:
        """The l2h JSON tree (docs/formats.md) as text."""
        from .jsontree import to_json
        return to_json(self)

    def save(self, path: str) -> None:
        """Write the tree by the extension of `path`: .nwk/.newick (Newick), .json (l2h JSON
        tree), .npy (scipy linkage matrix). The file appears whole or not at all."""
        from ..outputs import AtomicOutputs
        from .treeio import tree_format, write_tree
        fmt = tree_format(path)
        with AtomicOutputs([path]) as outs:
            outs.write(path, lambda fh: write_tree(self, fh, fmt))

    # ---- scipy linkage ---------------------------------------------------------------
    def to_linkage(self) -> np.ndarray:
        """The scipy linkage matrix: row t holds the two nodes merged (low's first), the
        height and the number of leaves below.

        >>> Tree(3, [(0, 1), (3, 2)], [1.0, 2.0]).to_linkage()
        array([[0., 1., 1., 2.],
               [3., 2., 2., 3.]])
        """
        if not self.is_binary:
            raise InputError("a linkage matrix needs a binary tree")
        z = np.zeros((len(self.children), 4))
        counts = self.leaf_counts()
        for t, (a, b) in enumerate(self.children):
            z[t] = (a, b, self.heights[t], counts[self.n_leaves + t])
        return z

    @classmethod
    def from_linkage(cls, z: np.ndarray, names: Sequence[str] | None = None,
                     source: str = "linkage") -> "Tree":
        """A binary tree from a scipy linkage matrix, checked as scipy's is_valid_linkage
        does: whole, distinct node ids that exist when used, finite non-negative heights, and
        leaf counts that match."""
        z = np.asarray(z)
        if z.dtype.kind not in "iuf":
            raise InputError(f"{source}: a linkage matrix holds numbers, not {z.dtype}")
        if z.ndim != 2 or z.shape[1] != 4:
            raise InputError(f"{source}: a linkage matrix has shape (K-1, 4), got {z.shape}")
        z = z.astype(np.float64)
        if not np.isfinite(z).all() or (z[:, :2] != np.round(z[:, :2])).any():
            raise InputError(f"{source}: node ids in a linkage matrix must be whole numbers")
        if (z[:, 2] < 0).any():
            raise InputError(f"{source}: a linkage matrix has a negative height")
        children = [(int(a), int(b)) for a, b in z[:, :2]]
        tree = cls(len(z) + 1, children, z[:, 2], list(names) if names else [],
                   meta={"source": source})
        counts = tree.leaf_counts()[tree.n_leaves:]
        wrong = np.flatnonzero(z[:, 3] != counts)
        if wrong.size:
            t = int(wrong[0])
            raise InputError(f"{source}: row {t} of the linkage matrix counts {z[t, 3]:g} "
                             f"leaves, its node has {int(counts[t])}")
        return tree
