"""Seeded logits with a known two-level hierarchy, generated block by block.

K = groups x per_group classes. A point of class y gets a bonus on y, a smaller one on the
other classes of y's group, per-class difficulty, and Gaussian noise. Every block is drawn from
its own seed, so any N can be written without holding the matrix and the result does not
depend on the block size.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

GEN_ROWS = 4096


def class_names(groups: int, per_group: int) -> list[str]:
    return [f"g{g:02d}-c{c}" for g in range(groups) for c in range(per_group)]


def true_newick(groups: int, per_group: int) -> str:
    """The generating hierarchy: a root over `groups` groups of `per_group` leaves."""
    names = class_names(groups, per_group)
    inner = ",".join("(" + ",".join(names[g * per_group:(g + 1) * per_group]) + ")"
                     for g in range(groups))
    return f"({inner});"


def hierarchical_blocks(n: int, groups: int = 20, per_group: int = 5, seed: int = 0,
                        class_boost: float = 3.0, group_boost: float = 1.5,
                        noise: float = 1.0, dtype: type = np.float32
                        ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield (logits, fine labels, group labels) blocks of GEN_ROWS rows covering n points."""
    k = groups * per_group
    params = np.random.default_rng([seed, 2**31])
    difficulty = params.uniform(0.6, 1.4, size=k)
    bias = params.normal(scale=0.3, size=k)
    for b, start in enumerate(range(0, n, GEN_ROWS)):
        m = min(GEN_ROWS, n - start)
        rng = np.random.default_rng([seed, b])
        y = rng.integers(0, k, size=m)
        z = rng.normal(scale=noise, size=(m, k)) + bias
        same_group = (np.arange(k)[None, :] // per_group) == (y[:, None] // per_group)
        z += group_boost * same_group
        z[np.arange(m), y] += class_boost * difficulty[y]
        yield z.astype(dtype), y, y // per_group
