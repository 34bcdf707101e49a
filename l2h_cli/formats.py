"""Every file format l2h reads or writes, by kind and extension: the one table the readers,
writers and the command line look formats up in.

>>> format_of("tree.nwk", "trees"), format_of("x.H5", "logits"), format_of("-", "partitions")
('newick', 'hdf5', 'txt')
"""

from __future__ import annotations

import os

from .errors import UsageError

FORMATS: dict[str, dict[str, str]] = {
    "logits": {".npy": "npy", ".h5": "hdf5", ".hdf5": "hdf5", ".hdf": "hdf5",
               ".parquet": "parquet", ".pq": "parquet", ".npz": "npz",
               ".safetensors": "safetensors", ".pt": "torch", ".pth": "torch"},
    "trees": {".nwk": "newick", ".newick": "newick", ".tree": "newick", ".tre": "newick",
              ".nhx": "newick", ".json": "json", ".npy": "linkage"},
    "labels": {".npy": "npy", ".txt": "text", ".csv": "text", ".tsv": "text", "": "text",
               ".h5": "hdf5", ".hdf5": "hdf5", ".hdf": "hdf5", ".parquet": "parquet",
               ".pq": "parquet"},
    "partitions": {".npy": "npy", ".csv": "csv", ".txt": "txt"},
    "pictures": {".png": "png", ".svg": "svg", ".pdf": "pdf", ".html": "html", ".htm": "html"},
}

#: What `-` (stdin or stdout) stands for, by kind.
STREAMS = {"logits": "npy", "partitions": "txt", "trees": "newick"}

_WHAT = {"logits": "input", "trees": "tree", "labels": "labels", "partitions": "output",
         "pictures": "output"}


def format_of(path: str, kind: str) -> str:
    """The format of `path` as a `kind` of file, from its extension; a UsageError naming the
    extensions that would do otherwise."""
    if path == "-" and kind in STREAMS:
        return STREAMS[kind]
    ext = os.path.splitext(path)[1].lower()
    table = FORMATS[kind]
    if ext not in table:
        known = ", ".join(e for e in table if e)
        raise UsageError(f"{path}: unknown {_WHAT[kind]} extension '{ext}' (expected {known}"
                         f"{', or - for stdin/stdout' if kind in STREAMS else ''})")
    return table[ext]


def extensions(kind: str) -> list[str]:
    return [e for e in FORMATS[kind] if e]
