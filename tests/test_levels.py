"""Suggested levels find the levels planted in synthetic logits (8 x 5 x 5 classes)."""

from __future__ import annotations

import numpy as np

from helpers import l2h_main
from l2h_cli import build_hierarchy
from l2h_cli.evaluation.levels import merge_gains, suggest_levels
from l2h_cli.readers import ArrayReader


def planted(n, noise, seed):
    rng = np.random.default_rng(seed)
    cls = rng.integers(0, 200, n)
    cols = np.arange(200)
    z = (3.0 * (cols[None, :] == cls[:, None]) + 2.0 * (cols[None, :] // 5 == cls[:, None] // 5)
         + 2.0 * (cols[None, :] // 25 == cls[:, None] // 25))
    return z + rng.normal(scale=noise, size=z.shape)


def test_planted_levels_are_the_top_suggestions():
    tree = build_hierarchy(planted(20_000, 1.0, 0))
    gains, base = merge_gains(tree, ArrayReader(planted(10_000, 1.0, 1)))
    assert (gains >= 0).all() and 0 < base < 1
    # The gains add up: S at the root is 1 (every point's mass is inside the one group).
    assert abs(base + gains.sum() - 1.0) < 1e-9
    top = [s["k"] for s in suggest_levels(gains, tree.n_leaves, top=2)]
    assert sorted(top) == [8, 40]


def test_levels_command_and_cut_k_auto(tmp_path, capfdbinary):
    np.save(tmp_path / "train.npy", planted(20_000, 1.0, 2))
    np.save(tmp_path / "test.npy", planted(5_000, 1.0, 3))
    code, _, err = l2h_main(capfdbinary, "build", str(tmp_path / "train.npy"), "-o",
                            str(tmp_path / "t.json"))
    assert code == 0, err
    code, out, err = l2h_main(capfdbinary, "levels", str(tmp_path / "t.json"),
                              str(tmp_path / "test.npy"))
    assert code == 0, err
    best = int(out.decode().splitlines()[1].split()[0])
    assert best in (8, 40)
    code, out, err = l2h_main(capfdbinary, "cut", str(tmp_path / "t.json"), "--k", "auto",
                              str(tmp_path / "test.npy"))
    assert code == 0 and f"--k auto: {best} groups".encode() in err, err
    assert len(set(out.split())) == best
    code, _, err = l2h_main(capfdbinary, "cut", str(tmp_path / "t.json"), "--k", "auto")
    assert code == 2 and b"give LOGITS" in err
