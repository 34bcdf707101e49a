"""Evaluate a tree on labelled points (docs/metrics.md) and assign points to leaves and cuts."""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..errors import InputError
from ..engine.kernels import argmax_rows
from .labels import Labels
from .metrics import (LeafCounts, acc, ari, dendrogram_purity, leaf_purity,
                      least_hierarchical_distance, nmi)
from ..readers import LogitReader
from ..trees.tree import Tree

Progress = Callable[[str, int, int], None]


def columns_to_leaves(tree: Tree, columns: np.ndarray, n_columns: int, path: str,
                      start: int = 0) -> np.ndarray:
    """The leaf of `tree` at each argmax column (through its leaf table when it left absent
    columns out)."""
    if n_columns != tree.n_columns:
        raise InputError(f"{path}: {n_columns} columns, but the tree was built on "
                         f"{tree.n_columns}")
    if tree.columns is None:
        return columns
    leaf_of = np.full(n_columns, -1, dtype=np.int64)
    leaf_of[tree.columns] = np.arange(tree.n_leaves)
    leaves = leaf_of[columns]
    if (leaves < 0).any():
        row = int(np.flatnonzero(leaves < 0)[0])
        raise InputError(f"{path}: the argmax of row {start + row} is a column the tree left "
                         "out (it had no finite logit when built)")
    return leaves


def leaf_blocks(reader: LogitReader, tree: Tree | None = None, rows: int | None = None,
                progress: Progress | None = None) -> Iterator[np.ndarray]:
    """The argmax of every row (ties: lowest index), block by block, validated: as a leaf of
    `tree`, else as a column."""
    if tree is not None and reader.n_cols != tree.n_columns:
        columns_to_leaves(tree, np.empty(0, np.int64), reader.n_cols, reader.path)
    done = 0
    for block in reader.blocks(rows or reader.default_block_rows()):
        a = argmax_rows(block, done, reader.path, reader.n_cols)
        if tree is not None:
            a = columns_to_leaves(tree, a, reader.n_cols, reader.path, done)
        done += len(block)
        if progress:
            progress("evaluate", done, reader.n_rows)
        yield a
    reader.check_unchanged()


def point_leaves(reader: LogitReader, tree: Tree, progress: Progress | None = None
                 ) -> np.ndarray:
    return np.concatenate(list(leaf_blocks(reader, tree, progress=progress)))


def leaf_label_counts(point_leaf: np.ndarray, labels: Labels, n_leaves: int) -> LeafCounts:
    """Labelled points at each leaf, as a sparse table."""
    if len(labels.codes) != len(point_leaf):
        raise InputError(f"{labels.source}: {len(labels.codes)} labels for "
                         f"{len(point_leaf)} points")
    return LeafCounts.of(point_leaf, labels.codes, n_leaves, labels.n_classes)


def evaluate_level(tree: Tree, point_leaf: np.ndarray, labels: Labels) -> dict[str, Any]:
    """All metrics for one label level; the flat ones on the cut with C groups (or the leaves
    when the tree has fewer than C)."""
    k, c = tree.n_leaves, labels.n_classes
    counts = leaf_label_counts(point_leaf, labels, k)
    cut_k = min(c, k)
    groups = tree.cut(cut_k)
    n_groups = int(groups.max()) + 1
    cut_cont = counts.grouped(groups, n_groups)
    return {
        "labels": labels.source,
        "n_classes": c,
        "cut_k": cut_k,
        "n_groups": n_groups,
        "nmi": nmi(cut_cont),
        "nmi_geometric": nmi(cut_cont, "geometric"),
        "ari": ari(cut_cont),
        "acc": acc(cut_cont),
        "lp": leaf_purity(counts),
        "dp": dendrogram_purity(tree, counts),
        "lhd": least_hierarchical_distance(tree, counts),
    }


def evaluate_levels(tree: Tree, point_leaf: np.ndarray, levels: Sequence[Labels]
                    ) -> list[dict[str, Any]]:
    return [evaluate_level(tree, point_leaf, labels) for labels in levels]


def as_labels(values: Any, source: str = "labels") -> Labels:
    """Labels from an array or a list (any hashable values of one kind)."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise InputError(f"{source}: labels must be one value per point, got shape "
                         f"{values.shape}")
    classes, codes = np.unique(values, return_inverse=True)
    return Labels(source, codes.reshape(-1).astype(np.int64), classes)


def evaluate(tree: Tree, logits: Any, labels: Any, **reader_options: Any
             ) -> dict[str, Any] | list[dict[str, Any]]:
    """The metrics of docs/metrics.md for `tree` on labelled points.

    `logits`: an N x K array, a reader, or a path (any input format; `reader_options` as in
    open_logits). `labels`: one label per point (an array or a list); a list of such arrays
    gives one dict per label level. Keys: nmi, nmi_geometric, ari, acc, lp, dp, lhd (and the
    number of classes and of groups in the cut).

    >>> import numpy as np
    >>> from l2h_cli import build_hierarchy
    >>> z = np.eye(4)[[0, 1, 2, 3, 0, 1]] * 5.0
    >>> m = evaluate(build_hierarchy(z), z, [0, 0, 1, 1, 0, 0])
    >>> round(m["lp"], 3), m["n_groups"]
    (1.0, 2)
    """
    from ..readers import ArrayReader, LogitReader, open_logits
    several = isinstance(labels, (list, tuple)) and len(labels) > 0 \
        and np.ndim(labels[0]) == 1
    levels = [as_labels(level, f"labels[{i}]") for i, level in enumerate(labels)] \
        if several else [as_labels(labels)]
    if isinstance(logits, LogitReader):
        point_leaf = point_leaves(logits, tree)
    else:
        with (open_logits(logits, **reader_options) if isinstance(logits, str)
              else ArrayReader(logits)) as reader:
            point_leaf = point_leaves(reader, tree)
    results = [{key: value for key, value in r.items() if key != "labels"}
               for r in evaluate_levels(tree, point_leaf, levels)]
    return results if several else results[0]
