"""Trees to and from files, chosen by extension, and the leaf names file."""

from __future__ import annotations

import io
import os
import warnings
from typing import IO, Sequence

import numpy as np

from ..errors import InputError, L2HWarning, UsageError
from ..formats import format_of
from .jsontree import parse_json_tree, to_json
from .newick import parse_newick, to_newick
from ..readers.npy import load_npy
from ..textfile import decode, read_bytes, read_text, text_lines
from .tree import Tree

def tree_format(path: str) -> str:
    return format_of(path, "trees")


def write_tree(tree: Tree, fh: IO[bytes], fmt: str) -> None:
    if fmt == "newick":
        fh.write((to_newick(tree) + "\n").encode("utf-8"))
    elif fmt == "json":
        fh.write(to_json(tree).encode("utf-8"))
    else:
        np.save(fh, tree.to_linkage())


def sniff_tree_format(data: bytes) -> str:
    """newick, json or linkage, from the first bytes of a tree file.

    >>> sniff_tree_format(b'{"format": "l2h-tree"}'), sniff_tree_format(b"(a,b);")
    ('json', 'newick')
    """
    if data.startswith(b"\x93NUMPY"):
        return "linkage"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    return "json" if head.startswith(b"{") else "newick"


def load_tree(path: str, names: Sequence[str] | None = None, fmt: str | None = None) -> Tree:
    """Read an l2h JSON tree, a scipy linkage `.npy`, or a Newick tree, by the extension of
    `path` or `fmt`; `-` reads stdin, whose format is sniffed unless given.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "t.nwk")
    >>> _ = open(path, "w").write("((0:1,1:1):1,2:2);")
    >>> load_tree(path).children
    [(0, 1), (3, 2)]
    """
    if path == "-" or fmt is not None:
        data = read_bytes(path, "tree file", binary=True)
        fmt = fmt or sniff_tree_format(data)
        shown = "<stdin>" if path == "-" else path
        if fmt == "linkage":
            with io.BytesIO(data) as fh:
                z = load_npy(fh, "a linkage matrix", shown)
            return Tree.from_linkage(z, names, source=shown)
        if b"\0" in data:
            raise InputError(f"{shown}: holds binary data (NUL bytes), not a tree file")
        text = decode(data, shown)
        return (parse_json_tree if fmt == "json" else parse_newick)(text, names, source=shown)
    fmt = tree_format(path)
    if fmt == "linkage":
        if not os.path.isfile(path):
            raise UsageError(f"{path}: no such file")
        return Tree.from_linkage(load_npy(path, "a linkage matrix"), names, source=path)
    text = read_text(path, "tree file")
    if fmt == "json":
        return parse_json_tree(text, names, source=path)
    return parse_newick(text, names, source=path)


def read_names(path: str, expected: int | None = None) -> list[str]:
    """One name a line. Duplicates (also ones differing only in case) get a ' (2)' suffix."""
    return unique_names(read_names_raw(path, expected), path)


def read_names_raw(path: str, expected: int | None = None, what: str = "names") -> list[str]:
    """One name a line, as written (group files repeat names on purpose)."""
    names = text_lines(read_text(path, f"file of {what}"))
    if expected is not None and len(names) != expected:
        raise InputError(f"{path}: {len(names)} {what} for {expected} clusters")
    return names


def unique_names(names: Sequence[str], source: str = "names") -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    renamed: list[str] = []
    for name in names:
        new, n = name, 1
        while new.casefold() in seen:
            n += 1
            new = f"{name} ({n})"
        if new != name:
            renamed.append(f"{name!r} -> {new!r}")
        seen.add(new.casefold())
        out.append(new)
    if renamed:
        warnings.warn(f"{source}: {len(renamed)} duplicate name(s) made unique: "
                      + ", ".join(renamed[:5]) + (" ..." if len(renamed) > 5 else ""),
                      L2HWarning, stacklevel=2)
    return out
