"""The l2h JSON tree (SPEC section 4): leaves, merges in order, and a nested d3-style tree.

The nested part is written with an explicit stack (json.dumps recurses and fails past a few
hundred levels) and read back under a raised recursion limit on a thread with a large stack.
"""

from __future__ import annotations

import json
import math
import sys
import threading
from typing import Any, Sequence

import numpy as np

from . import __version__
from .errors import InputError
from .tree import Tree

FORMAT = "l2h-tree"
FORMAT_VERSION = 1


def _num(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _leaf(tree: Tree, i: int) -> dict[str, Any]:
    out: dict[str, Any] = {"id": i, "name": tree.names[i]}
    if tree.sizes is not None:
        out["size"] = int(tree.sizes[i])
    if tree.confidences is not None:
        out["confidence"] = _num(float(tree.confidences[i]))
    return out


def to_json(tree: Tree) -> str:
    k = tree.n_leaves
    head: dict[str, Any] = {"format": FORMAT, "version": FORMAT_VERSION,
                            "l2h_version": __version__, "n_leaves": k}
    head.update({key: v for key, v in tree.meta.items() if key in
                 ("aggregate", "strategy", "n_points", "input", "source")})
    head["leaves"] = [_leaf(tree, i) for i in range(k)]
    merges = []
    for t, ch in enumerate(tree.children):
        entry: dict[str, Any] = {"node": k + t, "children": [int(c) for c in ch]}
        if len(ch) == 2:
            entry["low"] = tree.leaves_of(ch[0])
            entry["best"] = tree.leaves_of(ch[1])
        entry["height"] = float(tree.heights[t])
        merges.append(entry)
    head["merges"] = merges
    text = json.dumps(head, separators=(",", ":"))
    return text[:-1] + ',"tree":' + _nested(tree) + "}\n"


def _nested(tree: Tree) -> str:
    k = tree.n_leaves
    parts: list[str] = []
    stack: list[object] = [tree.root]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        node = int(item)
        if node < k:
            parts.append(json.dumps({**_leaf(tree, node), "height": 0.0}, separators=(",", ":")))
            continue
        head = {"id": node, "name": f"n{node}", "height": float(tree.heights[node - k])}
        parts.append(json.dumps(head, separators=(",", ":"))[:-1] + ',"children":[')
        kids = tree.children[node - k]
        stack.append("]}")
        for i, child in enumerate(reversed(kids)):
            stack.append(child)
            if i < len(kids) - 1:
                stack.append(",")
    return "".join(parts)


def _loads_deep(text: str) -> Any:
    result: dict[str, Any] = {}

    def work() -> None:
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, 200_000))
        try:
            result["value"] = json.loads(text)
        except Exception as exc:  # handed to the caller's thread
            result["error"] = exc
        finally:
            sys.setrecursionlimit(old)

    old_size = threading.stack_size()
    threading.stack_size(512 * 2**20)
    try:
        th = threading.Thread(target=work)
        th.start()
        th.join()
    finally:
        threading.stack_size(old_size)
    if "error" in result:
        raise result["error"]
    return result["value"]


def parse_json_tree(text: str, names: Sequence[str] | None = None,
                    source: str = "tree.json") -> Tree:
    try:
        data = _loads_deep(text)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{source}: not an l2h JSON tree (no \"format\": \"{FORMAT}\")")
    try:
        k = int(data["n_leaves"])
        leaves = data["leaves"]
        children = [tuple(int(c) for c in m["children"]) for m in data["merges"]]
        heights = np.array([float(m["height"]) for m in data["merges"]])
        file_names = [str(leaf["name"]) for leaf in leaves]
        sizes = np.array([leaf.get("size", 0) for leaf in leaves], dtype=np.int64) \
            if leaves and "size" in leaves[0] else None
        confs = np.array([np.nan if leaf.get("confidence") is None else leaf["confidence"]
                          for leaf in leaves], dtype=np.float64) \
            if leaves and "confidence" in leaves[0] else None
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{source}: malformed l2h JSON tree ({exc!r})") from None
    if names is not None and len(names) != k:
        raise InputError(f"{source}: {len(names)} names for a tree of {k} leaves")
    tree = Tree(k, children, heights, list(names) if names is not None else file_names,
                sizes=sizes, confidences=confs,
                meta={"source": source, **{key: data[key] for key in
                                            ("aggregate", "strategy", "n_points") if key in data}})
    return tree
