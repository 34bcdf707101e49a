"""Newick text, written and read with explicit stacks so 10,000-deep chains work."""

from __future__ import annotations

import math
import re
from typing import Sequence

import numpy as np

from ..errors import InputError
from .tree import Tree

_PLAIN = re.compile(r"[A-Za-z0-9.+\-]+")
_CLUSTER_ID = re.compile(r"[0-9]+")


def quote_label(label: str) -> str:
    """Standard Newick quoting: single quotes unless the label is plain letters, digits and
    `.+-`, a quote inside written twice.

    An unquoted `_` reads as a space, and parsers differ on `"`, `\\` and the rest, so all
    of those are quoted.

    >>> quote_label("cat"), quote_label("sea lion"), quote_label("it's")
    ('cat', "'sea lion'", "'it''s'")
    """
    if _PLAIN.fullmatch(label):
        return label
    return "'" + label.replace("'", "''") + "'"


def to_newick(tree: Tree, lengths: bool = True, internal_labels: bool = False) -> str:
    """The tree as one Newick line ending in ';'. Branch length = parent height - child height."""
    k = tree.n_leaves
    heights = np.concatenate([np.zeros(k), tree.heights])
    parent = tree.parents()

    def suffix(node: int) -> str:
        text = ""
        if node >= k and internal_labels:
            text += quote_label(f"n{node}")
        if lengths and parent[node] >= 0:
            text += ":" + repr(float(heights[parent[node]] - heights[node]))
        return text

    out: list[str] = []
    for event, node in tree.preorder():
        if event == "leaf":
            out.append(quote_label(tree.names[node]) + suffix(node))
        elif event == "open":
            out.append("(")
        elif event == "next":
            out.append(",")
        else:
            out.append(")" + suffix(node))
    out.append(";")
    return "".join(out)


# ---- reading -------------------------------------------------------------------------
_TOKEN = re.compile(r"\s*(?:(\()|(\))|(,)|(;)|(:)|'((?:[^']|'')*)'|(\[[^\]]*\])|([^\s()\[\]':;,]+))")


class _Node:
    __slots__ = ("label", "length", "children")

    def __init__(self) -> None:
        self.label: str | None = None
        self.length: float | None = None
        self.children: list[_Node] = []


def _parse(text: str, source: str) -> _Node:
    root = _Node()
    stack = [root]
    current = root
    expect_length = False
    pos = 0
    text = text.strip()
    if not text:
        raise InputError(f"{source}: empty Newick file")
    done = False
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise InputError(f"{source}: Newick syntax error at character {pos}")
        pos = m.end()
        opened, closed, comma, semi, colon, quoted, comment, word = m.groups()
        if done and not comment and (m.group(0).strip()):
            raise InputError(f"{source}: text after the closing ';' at character {m.start()}")
        if comment:
            continue
        if opened or comma:
            # '(' opens the current node's first child, ',' closes it and opens the next one.
            if opened and (current.children or current.label is not None):
                raise InputError(f"{source}: unexpected '(' at character {m.start()}")
            if comma:
                if len(stack) < 2:
                    raise InputError(f"{source}: ',' outside parentheses at character "
                                     f"{m.start()}")
                stack.pop()
            current = _Node()
            stack[-1].children.append(current)
            stack.append(current)
        elif closed:
            if len(stack) < 2:
                raise InputError(f"{source}: unbalanced ')' at character {m.start()}")
            stack.pop()
            current = stack[-1]
        elif colon:
            expect_length = True
            continue
        elif semi:
            if len(stack) != 1:
                raise InputError(f"{source}: unbalanced parentheses before ';'")
            done = True
        else:
            value = quoted.replace("''", "'") if quoted is not None else word.replace("_", " ")
            if expect_length:
                try:
                    current.length = float(word if word is not None else quoted)
                except ValueError:
                    current.length = math.nan
                if not math.isfinite(current.length):
                    raise InputError(f"{source}: bad branch length {value!r} at character "
                                     f"{m.start()}")
            elif current.label is not None:
                raise InputError(f"{source}: a second label {value!r} at character "
                                 f"{m.start()}; names with spaces must be quoted ('sea lion') "
                                 "or written with _ (sea_lion); ete3 writes them unquoted "
                                 "unless asked to quote them")
            else:
                current.label = value
        expect_length = False
    if not done:
        raise InputError(f"{source}: the Newick tree does not end with ';'")
    return root


def parse_newick(text: str, names: Sequence[str] | None = None,
                 source: str = "newick") -> Tree:
    """A Tree from Newick. Leaf labels are cluster ids (0..K-1) or, with `names`, names.

    Merge order: internal nodes sorted by height (longest path to a leaf, from the branch
    lengths when every branch has one, else in edges), then by leaf count, then by position.
    Unary nodes are folded into their child.
    """
    root = _parse(text, source)
    # Post-order without recursion.
    order: list[_Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(node.children)
    order.reverse()
    use_lengths = all(n.length is not None for n in order if n is not root)
    leaves = [n for n in order if not n.children]
    if names is not None:
        index = {name: i for i, name in enumerate(names)}
    ids: list[int] = []
    for leaf in leaves:
        label = leaf.label
        if label is None:
            raise InputError(f"{source}: a leaf has no label")
        if names is not None:
            if label not in index:
                raise InputError(f"{source}: leaf '{label}' is not among the names given")
            ids.append(index[label])
        elif _CLUSTER_ID.fullmatch(label) and len(label) <= 18 and int(label) < len(leaves):
            ids.append(int(label))
        elif _CLUSTER_ID.fullmatch(label):
            raise InputError(f"{source}: leaf id {label[:20]} is beyond the tree's "
                             f"{len(leaves)} leaves")
        else:
            raise InputError(f"{source}: leaf label '{label}' is not a cluster id; give the "
                             "cluster names", option="names")
    k = len(names) if names is not None else len(ids)
    seen = np.bincount(np.array(ids, dtype=np.int64), minlength=k)
    if (seen != 1).any():
        dup, missing = np.flatnonzero(seen > 1)[:5], np.flatnonzero(seen == 0)[:5]
        detail = (f"duplicated leaves {dup.tolist()}" if dup.size else
                  f"missing leaves {missing.tolist()}")
        raise InputError(f"{source}: the tree's leaves do not match the {k} clusters ({detail})")
    node_id: dict[int, int] = {}
    height: dict[int, float] = {}
    nleaves: dict[int, int] = {}
    internal: list[tuple[float, int, int, _Node]] = []
    for pos, node in enumerate(order):
        if not node.children:
            height[id(node)] = 0.0
            nleaves[id(node)] = 1
            continue
        step = (lambda c: c.length) if use_lengths else (lambda c: 1.0)
        height[id(node)] = max(height[id(c)] + step(c) for c in node.children)
        nleaves[id(node)] = sum(nleaves[id(c)] for c in node.children)
        if len(node.children) > 1:
            internal.append((height[id(node)], nleaves[id(node)], pos, node))
    for leaf, i in zip(leaves, ids):
        node_id[id(leaf)] = i
    internal.sort(key=lambda item: item[:3])

    def resolve(node: _Node) -> int:
        while len(node.children) == 1:
            node = node.children[0]
        return node_id[id(node)]

    children: list[tuple[int, ...]] = []
    heights: list[float] = []
    for t, (h, _, _, node) in enumerate(internal):
        node_id[id(node)] = k + t
        children.append(tuple(resolve(c) for c in node.children))
        heights.append(h)
    return Tree(k, children, np.array(heights, dtype=np.float64),
                list(names) if names is not None else [str(i) for i in range(k)],
                meta={"source": source})
