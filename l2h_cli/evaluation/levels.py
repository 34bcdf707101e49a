"""Suggested levels of a hierarchy: the numbers of groups at which it has natural cuts.

The criterion (docs/levels.md): let S(k) be the mean probability a point gives to the group of
its own argmax cluster in the cut with k groups (the softmax mass that stays inside groups).
Merging two groups A and B raises S by g = (mass A's points give B + mass B's points give A) /
N: the confusion the merge absorbs. Inside a natural group the merges absorb much confusion;
once the groups are natural, the next merges absorb little. So the score of k is the ratio of
the mean gain of the merges that led to k to the mean gain of the merges that follow it, over
windows of about k/4 merges on each side. Gains are measured on the logits given (usually
held-out points), on a seeded sample of at most `max_rows` rows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import InputError, UsageError
from ..readers.base import LogitReader
from ..trees.tree import Tree
from .evaluate import columns_to_leaves

#: The leaves x leaves table of exchanged mass must fit this (8192 leaves).
MAX_TABLE_BYTES = 512 * 2**20


def merge_gains(tree: Tree, reader: LogitReader, max_rows: int = 20_000, seed: int = 0
                ) -> tuple[np.ndarray, float]:
    """The gain in S of every merge (in merge order) and S at the leaves, from a sample."""
    k = tree.n_leaves
    if 8 * k * k > MAX_TABLE_BYTES:
        raise UsageError(f"suggesting levels keeps a {k} x {k} table: at most "
                         f"{int(math.sqrt(MAX_TABLE_BYTES / 8))} leaves")
    if reader.sparse:
        raise InputError(f"{reader.path}: suggested levels need dense logits")
    keep = np.random.default_rng(seed).random(reader.n_rows) < max_rows / reader.n_rows
    table = np.zeros((k, k))
    start, taken = 0, 0
    columns = tree.columns if tree.columns is not None else np.arange(k)
    for block in reader.blocks(reader.default_block_rows()):
        rows = np.asarray(block[keep[start:start + len(block)]], dtype=np.float64)
        if len(rows):
            rows -= rows.max(axis=1, keepdims=True)
            p = np.exp(rows)
            p /= p.sum(axis=1, keepdims=True)
            leaf = columns_to_leaves(tree, np.argmax(rows, axis=1), reader.n_cols,
                                     reader.path, start)
            np.add.at(table, leaf, p[:, columns])
            taken += len(rows)
        start += len(block)
    if not taken:
        raise InputError(f"{reader.path}: no rows to measure the levels on")
    table /= taken
    base = float(np.trace(table))
    # Groups take the slot of their first child; the table stays k x k.
    slot = list(range(k)) + [0] * len(tree.children)
    gains = np.empty(len(tree.children))
    for t, children in enumerate(tree.children):
        slots = [slot[c] for c in children]
        sub = table[np.ix_(slots, slots)]
        gains[t] = sub.sum() - np.trace(sub)
        keep_slot = slots[0]
        for s in slots[1:]:
            table[keep_slot] += table[s]
            table[:, keep_slot] += table[:, s]
        slot[k + t] = keep_slot
    return gains, base


def suggest_levels(gains: np.ndarray, n_leaves: int, top: int = 5) -> list[dict[str, Any]]:
    """The best numbers of groups by the criterion above, best first.

    >>> g = np.array([0.1] * 8 + [0.001] * 3)   # 12 leaves: 8 cheap merges, then costly
    >>> suggest_levels(g, 12)[0]["k"]
    4
    """
    m = len(gains)
    out = []
    for k in range(2, n_leaves):
        t = n_leaves - k  # merges before the cut to k groups
        w = max(2, k // 4)
        before = gains[max(0, t - w):t]
        after = gains[t:min(m, t + w)]
        if not len(before) or not len(after):
            continue
        score = math.log((before.mean() + 1e-12) / (after.mean() + 1e-12))
        out.append({"k": k, "score": score})
    out.sort(key=lambda r: -r["score"])
    chosen: list[dict[str, Any]] = []
    for r in out:  # one suggestion per neighbourhood
        if all(abs(r["k"] - c["k"]) > max(1, c["k"] // 10) for c in chosen):
            chosen.append(r)
        if len(chosen) == top:
            break
    return chosen
