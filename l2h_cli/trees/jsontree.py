"""The l2h JSON tree (docs/formats.md): leaves, merges in order, and a nested d3-style tree.

Written and read without recursion and without raising the interpreter's recursion limit: the
nested part is emitted from Tree.preorder, and on reading it is skipped (everything in it is
also in "leaves" and "merges") whenever the standard parser finds it too deep.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from typing import Any, Sequence

import numpy as np

from .. import __version__
from ..errors import InputError, L2HWarning
from .tree import Tree

FORMAT = "l2h-tree"
FORMAT_VERSION = 1

#: Past this many leaf ids in all, the merges' "low" and "best" leaf lists are left out (they
#: grow quadratically on chain-shaped trees); the node ids say the same.
MAX_LISTED_IDS = 10_000_000

_KEPT_META = ("aggregate", "strategy", "n_points", "input", "source", "temperature")


def _num(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)


def _leaf(tree: Tree, i: int) -> dict[str, Any]:
    out: dict[str, Any] = {"id": i, "name": tree.names[i]}
    if tree.columns is not None:
        out["column"] = int(tree.columns[i])
    if tree.sizes is not None:
        out["size"] = int(tree.sizes[i])
    if tree.confidences is not None:
        out["confidence"] = _num(float(tree.confidences[i]))
    return out


def _merge_entries(tree: Tree) -> list[dict[str, Any]]:
    k = tree.n_leaves
    counts = tree.leaf_counts()
    listed = tree.is_binary and int(counts[k:].sum()) <= MAX_LISTED_IDS
    if tree.is_binary and not listed:
        warnings.warn(f"the merges' leaf lists would hold {int(counts[k:].sum())} ids; the JSON "
                      "tree keeps only their node ids", L2HWarning, stacklevel=3)
    members: dict[int, list[int]] = {}
    entries = []
    for t, ch in enumerate(tree.children):
        node = k + t
        entry: dict[str, Any] = {"node": node}
        if len(ch) == 2:
            entry["low_node"], entry["best_node"] = int(ch[0]), int(ch[1])
            if listed:
                # Each list is built once from its children's and dropped once its parent
                # has taken it: linear in the output.
                low = members.pop(ch[0]) if ch[0] >= k else [int(ch[0])]
                best = members.pop(ch[1]) if ch[1] >= k else [int(ch[1])]
                entry["low"], entry["best"] = low, best
                members[node] = low + best
        else:
            entry["children"] = [int(c) for c in ch]
        entry["height"] = float(tree.heights[t])
        entry.update({key: _num(values[t]) for key, values in tree.merge_stats.items()})
        entries.append(entry)
    return entries


def to_json(tree: Tree) -> str:
    """The l2h JSON tree as text (strict JSON: missing values are null)."""
    k = tree.n_leaves
    head: dict[str, Any] = {"format": FORMAT, "version": FORMAT_VERSION,
                            "l2h_version": __version__, "n_leaves": k}
    head.update({key: v for key, v in tree.meta.items() if key in _KEPT_META})
    if tree.absent is not None:
        head["absent"] = [int(c) for c in tree.absent]
    # Each leaf is encoded once, for "leaves" and again (with its height) in the nested tree.
    leaves = [json.dumps(_leaf(tree, i), separators=(",", ":"), allow_nan=False)
              for i in range(k)]
    head["leaves"] = None
    head["merges"] = _merge_entries(tree)
    text = json.dumps(head, separators=(",", ":"), allow_nan=False)
    text = text.replace('"leaves":null', '"leaves":[' + ",".join(leaves) + "]", 1)
    return text[:-1] + ',"tree":' + _nested(tree, leaves) + "}\n"


def _nested(tree: Tree, leaves: list[str]) -> str:
    k = tree.n_leaves
    parts: list[str] = []
    for event, node in tree.preorder():
        if event == "leaf":
            parts.append(leaves[node][:-1] + ',"height":0.0}')
        elif event == "open":
            height = float(tree.heights[node - k])
            if not math.isfinite(height):
                raise ValueError(f"node {node} has height {height}")
            # repr of a finite float is its JSON number.
            parts.append(f'{{"id":{node},"name":"n{node}","height":{height!r},"children":[')
        elif event == "next":
            parts.append(",")
        else:
            parts.append("]}")
    return "".join(parts)


# ---- reading -------------------------------------------------------------------------
def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > 18:
        raise ValueError(f"number {text[:20]}... is too long")
    return int(text)


def _constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_float=_float, parse_int=_int, parse_constant=_constant)
_SPACE = re.compile(r"[ \t\n\r]*")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _skip_value(text: str, pos: int) -> int:
    """The end of the JSON array or object starting at `pos`, found by counting brackets
    outside strings (its content is not checked)."""
    depth = 0
    for m in _TOKEN.finditer(text, pos):
        tok = m.group()
        if tok in "[{":
            depth += 1
        elif tok in "]}":
            depth -= 1
            if depth == 0:
                return m.end()
    raise ValueError("unterminated array or object")


def _load(text: str) -> Any:
    try:
        return _DECODER.decode(text)
    except RecursionError:
        pass
    # Too deep for the standard parser: read the top-level object key by key, skipping the
    # nested "tree".
    pos = _SPACE.match(text, 0).end()
    if text[pos:pos + 1] != "{":
        raise ValueError("expected an object")
    out: dict[str, Any] = {}
    pos += 1
    while True:
        pos = _SPACE.match(text, pos).end()
        if text[pos:pos + 1] != '"':
            raise ValueError(f"expected a key at character {pos}")
        key, pos = json.decoder.scanstring(text, pos + 1)
        pos = _SPACE.match(text, pos).end()
        if text[pos:pos + 1] != ":":
            raise ValueError(f"expected ':' at character {pos}")
        pos = _SPACE.match(text, pos + 1).end()
        if key == "tree":
            pos = _skip_value(text, pos)
        else:
            out[key], pos = _DECODER.raw_decode(text, pos)
        pos = _SPACE.match(text, pos).end()
        if text[pos:pos + 1] == "}":
            if text[pos + 1:].strip():
                raise ValueError("extra data after the object")
            return out
        if text[pos:pos + 1] != ",":
            raise ValueError(f"expected ',' or '}}' at character {pos}")
        pos += 1


def _children(merge: dict[str, Any]) -> tuple[int, ...]:
    if "children" in merge:
        return tuple(int(c) for c in merge["children"])
    return int(merge["low_node"]), int(merge["best_node"])


def parse_json_tree(text: str, names: Sequence[str] | None = None,
                    source: str = "tree.json") -> Tree:
    """A Tree from l2h JSON text, checked for consistency before anything is allocated."""
    try:
        data = _load(text)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{source}: not an l2h JSON tree (no \"format\": \"{FORMAT}\")")
    try:
        k = data["n_leaves"]
        leaves, merges = data["leaves"], data["merges"]
        if not isinstance(k, int) or not isinstance(leaves, list) \
                or not isinstance(merges, list):
            raise TypeError("n_leaves must be a number, leaves and merges lists")
        if k != len(leaves) or not 1 <= k or len(merges) >= max(k, 2):
            raise ValueError(f"n_leaves is {k}, with {len(leaves)} leaves and {len(merges)} "
                             "merges")
        children = [_children(m) for m in merges]
        heights = np.array([float(m["height"]) for m in merges], dtype=np.float64)
        file_names = [_name(leaf["name"]) for leaf in leaves]
        sizes = np.array([int(leaf.get("size", 0)) for leaf in leaves], dtype=np.int64) \
            if "size" in leaves[0] else None
        confs = np.array([np.nan if leaf.get("confidence") is None else float(leaf["confidence"])
                          for leaf in leaves], dtype=np.float64) \
            if "confidence" in leaves[0] else None
        columns = np.array([int(leaf["column"]) for leaf in leaves], dtype=np.int64) \
            if "column" in leaves[0] else None
        absent = np.array([int(c) for c in data.get("absent", [])], dtype=np.int64)
        stats = {key: np.array([np.nan if m.get(key) is None else float(m[key])
                                for m in merges]) for key in Tree.MERGE_STATS
                 if merges and key in merges[0]}
    except (KeyError, TypeError, ValueError, OverflowError, AttributeError, IndexError) as exc:
        raise InputError(f"{source}: malformed l2h JSON tree ({exc})") from None
    if names is not None and len(names) != k:
        raise InputError(f"{source}: {len(names)} names for a tree of {k} leaves")
    if not np.isfinite(heights).all():
        raise InputError(f"{source}: a merge height is not a finite number")
    return Tree(k, children, heights, list(names) if names is not None else file_names,
                sizes=sizes, confidences=confs, columns=columns,
                absent=absent if "absent" in data else None, merge_stats=stats,
                meta={"source": source, **{key: data[key] for key in _KEPT_META[:4]
                                            if key in data}})


def _name(value: Any) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise TypeError(f"leaf name {value!r} is not a string")
    return str(value)
