"""Plain-text tables and strict JSON for the command line's reports."""

from __future__ import annotations

import json
import math
import os
from typing import Any, Sequence

import numpy as np

METRIC_COLUMNS = (("NMI", "nmi"), ("NMIgeo", "nmi_geometric"), ("ARI", "ari"), ("ACC", "acc"),
                  ("LP", "lp"), ("DP", "dp"), ("LHD", "lhd"))


def _cell(value: float) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:.4f}"


def _aligned(table: list[list[str]]) -> list[str]:
    """Rows of cells as lines, each column padded to its widest cell."""
    widths = [max(len(line[j]) for line in table) for j in range(len(table[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip()
            for line in table]


def metrics_table(results: Sequence[dict[str, Any]], width: int = 80) -> str:
    """The metrics of each label level, one row a level, aligned in plain text.

    Label names that would push a row past `width` are listed under the table instead, so
    no value is ever cut.

    >>> print(metrics_table([{"labels": "y.npy", "n_classes": 3, "n_groups": 3, "nmi": 1.0,
    ...     "nmi_geometric": 1.0, "ari": 1.0, "acc": 1.0, "lp": 1.0, "dp": 1.0,
    ...     "lhd": float("nan")}]))
    labels  C  cut  NMI     NMIgeo  ARI     ACC     LP      DP      LHD
    y.npy   3  3    1.0000  1.0000  1.0000  1.0000  1.0000  1.0000  -
    """
    names = [os.path.basename(r["labels"]) for r in results]
    rows = [[str(r["n_classes"]), str(r["n_groups"])] + [_cell(r[key]) for _, key in
                                                          METRIC_COLUMNS] for r in results]
    header = ["C", "cut"] + [title for title, _ in METRIC_COLUMNS]

    def render(first: list[str], title: str) -> list[str]:
        return _aligned([[title] + header] + [[f] + row for f, row in zip(first, rows)])

    lines = render(names, "labels")
    if max(len(line) for line in lines) > width:
        lines = render([str(i + 1) for i in range(len(names))], "level")
        lines += [f"level {i + 1}: {name}" for i, name in enumerate(names)]
    return "\n".join(lines)


def compare_table(reports: Sequence[dict[str, Any]], width: int = 80) -> str:
    """Several trees' metrics side by side: a row per label level and metric, a column per
    tree. Tree names that would push a row past `width` are listed under the table.

    >>> level = {"labels": "y.npy", "n_classes": 2, "n_groups": 2, "nmi": 1.0,
    ...          "nmi_geometric": 1.0, "ari": 1.0, "acc": 1.0, "lp": 1.0, "dp": 0.5, "lhd": 0.0}
    >>> print(compare_table([{"tree": "a.json", "levels": [level]},
    ...                      {"tree": "b.nwk", "levels": [level]}]))
    labels  metric  a.json  b.nwk
    y.npy   NMI     1.0000  1.0000
    y.npy   NMIgeo  1.0000  1.0000
    y.npy   ARI     1.0000  1.0000
    y.npy   ACC     1.0000  1.0000
    y.npy   LP      1.0000  1.0000
    y.npy   DP      0.5000  0.5000
    y.npy   LHD     0.0000  0.0000
    """
    trees = [os.path.basename(r["tree"]) for r in reports]
    levels = [os.path.basename(level["labels"]) for level in reports[0]["levels"]]

    def render(heads: list[str], labels: list[str]) -> list[str]:
        table = [["labels", "metric", *heads]]
        for i, label in enumerate(labels):
            for title, key in METRIC_COLUMNS:
                table.append([label, title, *(_cell(r["levels"][i][key]) for r in reports)])
        return _aligned(table)

    lines = render(trees, levels)
    if max(len(line) for line in lines) > width:
        lines = render([f"tree{i + 1}" for i in range(len(trees))],
                       [str(i + 1) for i in range(len(levels))])
        lines += [f"tree{i + 1}: {name}" for i, name in enumerate(trees)]
        lines += [f"level {i + 1}: {name}" for i, name in enumerate(levels)]
    return "\n".join(lines)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def strict_json(value: Any, indent: int | None = None) -> str:
    """JSON that every parser accepts: NaN and infinities become null.

    >>> strict_json({"dp": float("nan"), "n": np.int64(3)})
    '{"dp": null, "n": 3}'
    """
    return json.dumps(_plain(value), indent=indent, allow_nan=False)
