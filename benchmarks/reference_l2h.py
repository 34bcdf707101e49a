"""Algorithm 1 of the L2H paper, literally: the whole matrix in memory, and every statistic
recomputed at every step, as the paper's NumPy listing does. The speed and exactness yardstick.

    python benchmarks/reference_l2h.py logits.npy merges.json [--low-memory]
Writes the merges as [[low leaves], [best leaves]] pairs.

--low-memory (for 1.28M x 1000, where the float64 copies alone would need 20 GB) keeps the
matrix as loaded and converts to float64 where it is used, row chunk by row chunk for the
confidences and the rows of `low` at each step: the same arithmetic on the same values.
"""

import json
import sys

import numpy as np


def l2h_reference(z: np.ndarray, low_memory: bool = False) -> list:
    if not low_memory:
        z = z.astype(np.float64)
    n, k = z.shape
    a = z.argmax(axis=1)
    if low_memory:
        p = None
        conf = np.empty(n)
        for s in range(0, n, 65536):
            q = z[s:s + 65536].astype(np.float64)
            q = np.exp(q - q.max(axis=1, keepdims=True))
            q /= q.sum(axis=1, keepdims=True)
            conf[s:s + 65536] = q[np.arange(len(q)), a[s:s + 65536]]
    else:
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        conf = p[np.arange(n), a]
    groups = [[c] for c in range(k)]
    merges = []
    counts = np.bincount(a, minlength=k)
    if low_memory and (counts == 0).any():
        raise SystemExit("--low-memory does not handle empty clusters")
    for c in np.flatnonzero(counts == 0):  # empty clusters first (SPEC 1)
        given = np.array([p[a == h, c].sum() if counts[h] else -np.inf for h in range(k)])
        h = int(np.argmax(given))
        best = next(g for g in groups if h in g)
        merges.append(([int(c)], list(best)))
        groups.remove([c])
        groups.remove(best)
        groups.append([int(c)] + best)
    while len(groups) > 1:
        # Every cluster statistic, recomputed from scratch.
        m = np.array([conf[a == c].mean() if (a == c).any() else np.nan for c in range(k)])
        scores = [np.nansum(m[g]) for g in groups]
        low = groups[int(np.argmin(scores))]
        in_low = np.isin(a, low)
        rest = np.setdiff1d(np.arange(k), low)
        sub = z[in_low][:, rest].astype(np.float64, copy=False)
        top = sub.max(axis=1, keepdims=True)
        live = np.isfinite(top[:, 0])
        w = 1.0 / np.exp(sub[live] - top[live]).sum(axis=1)
        r = rest[sub[live].argmax(axis=1)]
        mass = np.bincount(r, weights=w, minlength=k)
        rel = [np.mean(mass[g]) if g is not low else -np.inf for g in groups]
        best = groups[int(np.argmax(rel))]
        merges.append((list(low), list(best)))
        groups.remove(low)
        groups.remove(best)
        groups.append(low + best)
    return merges


if __name__ == "__main__":
    merges = l2h_reference(np.load(sys.argv[1]), low_memory="--low-memory" in sys.argv[3:])
    with open(sys.argv[2], "w") as fh:
        json.dump([[list(map(int, lo)), list(map(int, hi))] for lo, hi in merges], fh)
