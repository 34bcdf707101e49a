"""Flat partitions (cuts of a tree) written as .npy, .csv or plain text, row block by block."""

from __future__ import annotations

from typing import IO, Iterable, Sequence

import numpy as np
from numpy.lib import format as npformat

from ..formats import format_of

def partition_format(path: str) -> str:
    return format_of(path, "partitions")


def write_partition(fh: IO[bytes], fmt: str, n_rows: int, ks: Sequence[int],
                    blocks: Iterable[tuple[np.ndarray, np.ndarray]], header: Sequence[str],
                    names: Sequence[str] | None = None) -> None:
    """Write one group column per k. `blocks` yields (first columns, groups) where groups has
    one column per k; `header` names the first columns (for .csv)."""
    if fmt == "npy":
        shape = (n_rows,) if len(ks) == 1 else (n_rows, len(ks))
        npformat.write_array_header_2_0(fh, {"descr": npformat.dtype_to_descr(np.dtype("<i8")),
                                             "fortran_order": False, "shape": shape})
        for _, groups in blocks:
            fh.write(np.ascontiguousarray(groups, dtype="<i8").tobytes())
        return
    if fmt == "csv":
        cols = ["group"] if len(ks) == 1 else [f"group_k{k}" for k in ks]
        fh.write((",".join(list(header) + cols) + "\n").encode())
    for ids, groups in blocks:
        lines = []
        for row, g in zip(ids, groups):
            if fmt == "csv":
                first = [str(int(row))]
                if names is not None:
                    first.append(_csv_field(names[int(row)]))
                lines.append(",".join(first + [str(int(x)) for x in g]))
            else:
                lines.append(" ".join(str(int(x)) for x in g))
        fh.write(("\n".join(lines) + "\n").encode() if lines else b"")


def _csv_field(text: str) -> str:
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text
