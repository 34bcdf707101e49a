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


def outside_masses(z, monkeypatch, **kw):
    """The tree, and the OutsideMass of its merge loop."""
    made = []

    class Kept(kernels.OutsideMass):
        def __init__(self, *args):
            super().__init__(*args)
            made.append(self)

    monkeypatch.setattr(merge, "OutsideMass", Kept)
    tree = build_hierarchy(z, workers=1, **kw)
    return tree, made[0]


def test_steps_from_outside_masses_give_the_reference_merges(monkeypatch):
    """Steps from each point's outside mass, a gather of the columns its group gained, with
    points that gain more than max_gather columns going back to whole rows: the reference
    merges, on rows spread and peaked, with ties and -inf."""
    monkeypatch.setattr(kernels.OutsideMass, "MIN_GATHER", 0)  # max_gather = K // 4
    followed = whole = 0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        z = rng.normal(size=(400, 28)) * [0.3, 1.0, 4.0, 12.0][seed % 4]
        if seed % 3 == 0:
            z = np.round(z)  # exact ties
        if seed % 2:
            z[rng.random(z.shape) < 0.3] = -np.inf
            z[np.isneginf(z).all(axis=1), 0] = 0.0
        z = z.astype(np.float32)
        tree, outside = outside_masses(z, monkeypatch)
        assert merges_as_leaves(tree) == reference_l2h(z), seed
        used = np.isfinite(outside.err)
        assert (outside.err[used] <= kernels.OUTSIDE_TOLERANCE * outside.rest[used]).all()
        followed, whole = followed + used.sum(), whole + (~used).sum()
    assert followed > 1000 and whole > 100  # both paths taken


def test_outside_mass_that_cancels_goes_back_to_the_row(monkeypatch):
    """Points that give nearly all their mass to one other cluster: once their group holds
    it, the difference left is below the bound's reach, and the step reads the row instead
    (the merges stay the reference's)."""
    rng = np.random.default_rng(3)
    k = 10
    z = np.full((200, k), -30.0)  # what is left once the twin is in: 1e-13 of the sum
    home = rng.integers(0, k, 200)
    z[np.arange(200), home] = 0.0
    z[np.arange(200), (home + 1) % k] = -1e-4  # a near-twin of each point's cluster
    z += rng.normal(scale=1e-3, size=z.shape)
    z = z.astype(np.float32)
    tree, outside = outside_masses(z, monkeypatch)
    assert merges_as_leaves(tree) == reference_l2h(z)
    used = np.isfinite(outside.err)
    assert not used.all()
    assert (outside.err[used] <= kernels.OUTSIDE_TOLERANCE * outside.rest[used]).all()
    monkeypatch.setattr(merge, "FAST_ARITHMETIC", False)
    exact = build_hierarchy(z, workers=1)
    for key in ("strength", "runner_up_share"):
        a, b = np.asarray(tree.merge_stats[key]), np.asarray(exact.merge_stats[key])
        assert np.allclose(a, b, rtol=0, atol=4 * kernels.FAST_ERROR, equal_nan=True), key


def test_outside_masses_follow_their_definition(monkeypatch):
    """After a build, a point still followed holds the softmax mass of its row (shifted by
    its max) outside the group it was last read in, within its bound."""
    rng = np.random.default_rng(5)
    z = (rng.normal(size=(300, 20)) * 2).astype(np.float32)
    tree, outside = outside_masses(z, monkeypatch)
    loop_groups = {}
    # Replay the merges: the group of each leaf after each one.
    members = {leaf: [leaf] for leaf in range(tree.n_leaves)}
    for t, (a, b) in enumerate(tree.children):
        members[tree.n_leaves + t] = members[a] + members[b]
        loop_groups[tree.n_leaves + t] = set(members[tree.n_leaves + t])
    labels = np.argmax(z, axis=1)
    zz = z.astype(np.float64) - z.max(axis=1, keepdims=True)
    followed = np.flatnonzero(np.isfinite(outside.err))
    assert followed.size
    # Each followed point's outside mass equals the mass outside some group that holds its
    # cluster: one of the groups of its chain of merges (or its own cluster).
    for i in followed[:100]:
        chain = [{labels[i]}] + [g for g in loop_groups.values() if labels[i] in g]
        masses = [np.exp(np.delete(zz[i], list(g))).sum() for g in chain]
        assert min(abs(m - outside.rest[i]) for m in masses) <= outside.err[i] + 1e-300
