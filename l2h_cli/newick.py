"""Newick text, written and read with explicit stacks so 10,000-deep chains work."""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from .errors import InputError
from .tree import Tree

_NEEDS_QUOTES = re.compile(r"[\s()\[\]':;,_]")


def quote_label(label: str) -> str:
    """Standard Newick quoting: single quotes when needed, a quote inside written twice.

    An unquoted `_` reads as a space, so labels with `_` are quoted too.
    """
    if label and not _NEEDS_QUOTES.search(label):
        return label
    return "'" + label.replace("'", "''") + "'"


def to_newick(tree: Tree, lengths: bool = True, internal_labels: bool = False) -> str:
    """The tree as one Newick line ending in ';'. Branch length = parent height - child height."""
    k = tree.n_leaves
    heights = np.concatenate([np.zeros(k), tree.heights])
    parent = tree.parents()
    out: list[str] = []

    def suffix(node: int) -> str:
        text = ""
        if node >= k and internal_labels:
            text += quote_label(f"n{node}")
        if lengths and parent[node] >= 0:
            text += ":" + repr(float(heights[parent[node]] - heights[node]))
        return text

    # Each stack entry is a node to open, or a marker ("text", s) to emit.
    stack: list[object] = [tree.root]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        node = int(item)
        if node < k:
            out.append(quote_label(tree.names[node]) + suffix(node))
            continue
        kids = tree.children[node - k]
        stack.append(")" + suffix(node))
        for i, child in enumerate(reversed(kids)):
            stack.append(child)
            if i < len(kids) - 1:
                stack.append(",")
        out.append("(")
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
        if opened:
            if current.children or current.label is not None:
                raise InputError(f"{source}: unexpected '(' at character {m.start()}")
            child = _Node()
            current.children.append(child)
            stack.append(child)
            current = child
        elif comma:
            if len(stack) < 2:
                raise InputError(f"{source}: ',' outside parentheses at character {m.start()}")
            stack.pop()
            child = _Node()
            stack[-1].children.append(child)
            stack.append(child)
            current = child
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
                    raise InputError(f"{source}: bad branch length {value!r}") from None
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
    labels = [n.label for n in leaves]
    ids: list[int] = []
    for label in labels:
        if label is None:
            raise InputError(f"{source}: a leaf has no label")
        if names is not None:
            if label not in index:
                raise InputError(f"{source}: leaf '{label}' is not among the names given")
            ids.append(index[label])
        else:
            try:
                ids.append(int(label))
            except ValueError:
                raise InputError(f"{source}: leaf label '{label}' is not a cluster id; "
                                 "give the cluster names with --names") from None
    k = len(names) if names is not None else len(ids)
    if sorted(ids) != list(range(k)):
        missing = sorted(set(range(k)) - set(ids))
        dup = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
        detail = (f"duplicated leaves {dup[:5]}" if dup else
                  f"missing leaves {missing[:5]}" if missing else f"leaf ids beyond {k - 1}")
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
