"""Certified float32 steps (the default on float32 rows): every decision the error bound does
not settle is redone in float64, so the merges are float64's (the property tests of
test_merge_exact run with and without them)."""

import numpy as np
import pytest

from l2h_cli import build_hierarchy
from l2h_cli.engine import kernels, merge
from reference import merges_as_leaves, reference_l2h


@pytest.fixture(autouse=True)
def compiled_kernels(monkeypatch):
    if kernels._compiled is None:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(kernels, "BACKEND", "numba")
    monkeypatch.setattr(merge, "FAST_ARITHMETIC", True)


def ours(z):
    return merges_as_leaves(build_hierarchy(z, workers=1))


def test_fast_steps_that_cannot_decide_are_redone_in_float64(monkeypatch):
    """With a bound that settles nothing, every fast step is redone: the merges still equal
    the reference, on float32 logits with exact ties (small integers) and without."""
    monkeypatch.setattr(merge, "SETTLED", 2.0)
    redone = []
    best = merge.MergeLoop._best

    def counting(self, groups, low):
        out = best(self, groups, low)
        redone.append(self.redone)
        return out

    monkeypatch.setattr(merge.MergeLoop, "_best", counting)
    rng = np.random.default_rng(4)
    for ties in (True, False):
        z = (rng.integers(-3, 4, size=(300, 12)) if ties else rng.normal(size=(300, 12)))
        z = z.astype(np.float32)
        assert ours(z) == reference_l2h(z)
    assert max(redone) > 0


def test_fast_shares_are_within_their_bound(monkeypatch):
    """The fast path gives the float64 merges, and its recorded shares and margins differ
    from float64's by less than the error bound allows."""
    rng = np.random.default_rng(8)
    z = (rng.normal(size=(4000, 60)) * rng.choice([0.5, 3.0, 20.0])).astype(np.float32)
    fast = build_hierarchy(z, workers=1)
    monkeypatch.setattr(merge, "FAST_ARITHMETIC", False)
    exact = build_hierarchy(z, workers=1)
    assert fast.children == exact.children
    for key in ("strength", "runner_up_share", "margin_best"):
        a, b = np.asarray(fast.merge_stats[key]), np.asarray(exact.merge_stats[key])
        assert np.allclose(a, b, rtol=0, atol=4 * kernels.FAST_ERROR, equal_nan=True), key


def test_float32_exp_error_over_float32_inputs():
    """The fast path's exp against float64's on every 16th float32 in [-87, 0] (all of them,
    run once: at most 2.9 ulp), far inside the bound FAST_ERROR assumes."""
    from numba import njit

    compiled = kernels._compiled

    @njit
    def worst(start, stop, step):
        w = 0.0
        for b in range(start, stop, step):
            x = compiled._bitcast(np.int32(b))
            ref = np.exp(np.float64(x))
            w = max(w, abs(np.float64(compiled._exp32(x)) - ref) / ref)
        return w

    start = int(np.array([-0.0], np.float32).view(np.int32)[0])
    stop = int(np.array([-87.0], np.float32).view(np.int32)[0]) + 1
    assert worst(start, stop, 16) < 4 * 2.0 ** -24
