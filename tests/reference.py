"""A literal, obviously-correct implementation of SPEC section 1, for tests only.

Recomputes everything at every step with plain loops; slow, and meant to be.
"""

from __future__ import annotations

import numpy as np


def _softmax_row(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def _restricted(z: np.ndarray, allowed: list[int]) -> tuple[int, float] | None:
    """(r, w) of SPEC step 2 for one row, over the columns `allowed` (ascending)."""
    vals = z[allowed]
    j = int(np.argmax(vals))
    top = vals[j]
    if top == -np.inf:
        return None
    return allowed[j], 1.0 / np.exp(vals - top).sum()


def _mass(Z: np.ndarray, a: np.ndarray, group: tuple[int, ...]) -> np.ndarray:
    K = Z.shape[1]
    allowed = [c for c in range(K) if c not in group]
    mass = np.zeros(K)
    for i in range(len(Z)):
        if a[i] in group:
            rw = _restricted(Z[i], allowed)
            if rw is not None:
                mass[rw[0]] += rw[1]
    return mass


def reference_l2h(Z, aggregate: str = "sum", strategy: str = "lowest",
                  input: str = "logits", temperature: float = 1.0, keep_absent: bool = False,
                  stats: list | None = None
                  ) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The merges (low, best) as tuples of input column ids, in order. Columns without a
    finite logit are left out unless `keep_absent`. With `stats`, the lowest strategy appends
    (margin_low, margin_best, strength) of each step of the main loop."""
    Z = np.asarray(Z, dtype=np.float64)
    if input == "probs":
        with np.errstate(divide="ignore"):
            Z = np.log(Z)
    Z = Z / temperature
    N, K = Z.shape
    columns = [c for c in range(K) if keep_absent or (Z[:, c] > -np.inf).any()]
    a = np.array([int(np.argmax(Z[i])) for i in range(N)])
    P = np.array([_softmax_row(Z[i]) for i in range(N)])
    conf = np.array([P[i, a[i]] for i in range(N)])
    m = {c: conf[a == c].mean() for c in range(K) if (a == c).any()}
    agg = {"sum": sum, "mean": lambda v: sum(v) / len(v), "min": min, "max": max}[aggregate]

    groups: list[tuple[int, ...]] = [(c,) for c in columns]
    merges = []

    def do_merge(low, best):
        merges.append((low, best))
        groups.remove(low)
        groups.remove(best)
        groups.append(low + best)

    for c in columns:
        if c in m:
            continue
        totals = {h: P[a == h, c].sum() for h in sorted(m)}
        h = max(sorted(m), key=lambda h: totals[h])  # max keeps the first (lowest h) on ties
        best = next(g for g in groups if h in g)
        do_merge((c,), best)

    while len(groups) > 1:
        if strategy == "lowest":
            scores = [agg([m[c] for c in g if c in m]) for g in groups]
            low = groups[scores.index(min(scores))]
            mass = _mass(Z, a, low)
            best, best_rel = None, -np.inf
            for g in groups:
                if g == low:
                    continue
                rel = np.mean([mass[c] for c in g])
                if rel > best_rel:
                    best, best_rel = g, rel
            if best is None:  # every rel is -inf-free zero at worst, so only when all equal
                best = next(g for g in groups if g != low)
            if stats is not None:
                ordered = sorted(scores)
                others = [g for g in groups if g not in (low, best)]
                rels = sorted((np.mean([mass[c] for c in g]) for g in groups if g != low),
                              reverse=True)
                total = mass.sum()
                runner = max(others, key=lambda g: np.mean([mass[c] for c in g])) \
                    if others else None  # max keeps the first of equal relations
                stats.append(((ordered[1] - ordered[0]) / abs(ordered[1]),
                              (rels[0] - rels[1]) / abs(rels[0])
                              if len(rels) > 1 and rels[0] > 0 else np.nan,
                              sum(mass[c] for c in best) / total if total > 0 else np.nan,
                              sum(mass[c] for c in runner) / total
                              if total > 0 and runner is not None else np.nan))
            do_merge(low, best)
        else:
            best_pair, best_rel = None, -np.inf
            for g in groups:
                mass = _mass(Z, a, g)
                for h in groups:
                    if h == g:
                        continue
                    rel = np.mean([mass[c] for c in h])
                    if rel > best_rel:
                        best_pair, best_rel = (g, h), rel
            do_merge(*best_pair)
    return merges


def merges_as_leaves(tree) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """A Tree's merges in the reference's (low columns, best columns) form."""
    col = (lambda leaf: leaf) if tree.columns is None else (lambda leaf: int(tree.columns[leaf]))
    return [(tuple(map(col, tree.leaves_of(lo))), tuple(map(col, tree.leaves_of(hi))))
            for lo, hi in tree.children]
