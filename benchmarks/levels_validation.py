"""How often `l2h levels` finds planted levels: logits of 8 x 5 x 5 = 200 classes (8 top
groups of 5 mid groups of 5 classes), built on one sample and measured on another, at several
noise levels and seeds. A planted level counts as found when it is among the top 3 suggestions
(within 10% of its value).

    python benchmarks/levels_validation.py [--seeds 10]
"""

from __future__ import annotations

import argparse

import numpy as np

from l2h_cli import build_hierarchy
from l2h_cli.evaluation.levels import merge_gains, suggest_levels
from l2h_cli.readers import ArrayReader

TOP, MID, LEAF = 8, 5, 5


def planted(n: int, noise: float, seed: int) -> np.ndarray:
    """Logits with three planted levels: a point's own class, mid group and top group each
    add to its logits; Gaussian noise blurs them."""
    rng = np.random.default_rng(seed)
    k = TOP * MID * LEAF
    cls = rng.integers(0, k, n)
    cols = np.arange(k)
    same_mid = (cols[None, :] // LEAF) == (cls[:, None] // LEAF)
    same_top = (cols[None, :] // (LEAF * MID)) == (cls[:, None] // (LEAF * MID))
    z = 3.0 * (cols[None, :] == cls[:, None]) + 2.0 * same_mid + 2.0 * same_top
    return z + rng.normal(scale=noise, size=z.shape)


def found(suggested: list[int], level: int) -> bool:
    return any(abs(k - level) <= max(1, level // 10) for k in suggested)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    args = ap.parse_args()
    print("| noise | found 40 | found 8 | found both |")
    print("|---:|---:|---:|---:|")
    for noise in (0.5, 1.0, 1.5, 2.0, 2.5):
        hits = np.zeros(3)
        for seed in range(args.seeds):
            tree = build_hierarchy(planted(20_000, noise, seed))
            gains, _ = merge_gains(tree, ArrayReader(planted(10_000, noise, 1000 + seed)))
            top = [s["k"] for s in suggest_levels(gains, tree.n_leaves, top=3)]
            a, b = found(top, TOP * MID), found(top, TOP)
            hits += [a, b, a and b]
        rates = hits / args.seeds
        print(f"| {noise} | {rates[0]:.0%} | {rates[1]:.0%} | {rates[2]:.0%} |")


if __name__ == "__main__":
    main()
