"""The merges equal the literal reference of SPEC section 1 on random and adversarial inputs."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l2h_cli import build_hierarchy
from l2h_cli.engine import kernels, merge
from reference import merges_as_leaves, reference_l2h

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def logit_matrices(draw, max_n=60, max_k=9, allow_neg_inf=True, allow_empty=True):
    n = draw(st.integers(1, max_n))
    k = draw(st.integers(1, max_k))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from([0.3, 1.0, 3.0, 10.0]))
    z = rng.normal(scale=scale, size=(n, k))
    if allow_empty and k > 1 and draw(st.booleans()):
        # Push some columns down so that no point picks them.
        dead = rng.choice(k, size=draw(st.integers(1, k - 1)), replace=False)
        z[:, dead] -= 50
    if allow_neg_inf and draw(st.booleans()):
        mask = rng.random((n, k)) < draw(st.sampled_from([0.1, 0.4, 0.8]))
        z[mask] = -np.inf
        rows = np.isneginf(z).all(axis=1)
        z[rows, rng.integers(0, k, rows.sum())] = 0.0
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return z.astype(dtype)


def ours(z, **kw):
    return merges_as_leaves(build_hierarchy(z, workers=1, **kw))


@SETTINGS
@given(logit_matrices())
def test_lowest_sum_matches_reference(z):
    assert ours(z) == reference_l2h(z)


@SETTINGS
@given(logit_matrices(), st.sampled_from(["mean", "min", "max"]))
def test_other_aggregates_match_reference(z, agg):
    assert ours(z, aggregate=agg) == reference_l2h(z, aggregate=agg)


@settings(max_examples=30, deadline=None)
@given(logit_matrices(max_n=40, max_k=7))
def test_all_pairs_matches_reference(z):
    assert ours(z, strategy="all-pairs") == reference_l2h(z, strategy="all-pairs")


@settings(max_examples=25, deadline=None)
@given(logit_matrices(max_n=200, max_k=12), st.integers(1, 17), st.booleans())
def test_blocks_spill_and_threads_do_not_change_merges(z, rows, spill):
    ref = ours(z)
    got = merges_as_leaves(build_hierarchy(z, chunk_rows=rows, workers=2,
                                           memory=1 if spill else 2**30))
    assert got == ref


@settings(max_examples=15, deadline=None)
@given(logit_matrices(max_n=150, max_k=10), st.integers(1, 9), st.booleans())
def test_npy_file_input_reread_or_spilled_gives_the_reference_merges(tmp_path_factory, z, rows,
                                                                     reread):
    path = tmp_path_factory.mktemp("npy") / "z.npy"
    np.save(path, z)
    got = merges_as_leaves(build_hierarchy(str(path), chunk_rows=rows, memory=1,
                                           reread=reread))
    assert got == reference_l2h(z)


@pytest.fixture(params=["numpy", "numba", "numba-whole-rows", "numba-float64"], autouse=True)
def kernel_backend(request, monkeypatch):
    """Every test here runs on the NumPy kernels and, when installed, the compiled ones: with
    the certified fast steps (the default: from each point's outside mass where it can, else
    from the whole row in float32), with the float32 whole-row steps alone, and in float64
    throughout."""
    if request.param != "numpy" and kernels._compiled is None:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(kernels, "BACKEND", request.param.split("-")[0])
    monkeypatch.setattr(merge, "FAST_ARITHMETIC", request.param != "numba-float64"
                        and request.param != "numpy")
    if request.param == "numba-whole-rows":
        monkeypatch.setattr(merge, "OutsideMass", lambda *args: None)
    return request.param


def test_probabilities_input_matches_reference():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(80, 6))
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    p[rng.random(p.shape) < 0.2] = 0.0
    p /= p.sum(1, keepdims=True)
    assert ours(p, input="probs") == reference_l2h(p, input="probs")


def test_integer_logits_with_exact_ties():
    # Small integers make exact ties in argmax, confidences and mass: every tie rule is hit.
    rng = np.random.default_rng(11)
    for _ in range(40):
        n, k = rng.integers(1, 30), rng.integers(2, 8)
        z = rng.integers(-2, 3, size=(n, k)).astype(np.float64)
        assert ours(z) == reference_l2h(z), z


def test_identical_clusters_tie_to_the_first_in_list():
    # Four points, each certain of its own cluster (confidence exactly 1.0): every score and
    # every rel ties exactly, so list order decides.
    z = np.eye(4) * 100
    merges = ours(z)
    assert merges == reference_l2h(z)
    assert merges[0] == ((0,), (1,))


def test_empty_clusters_merge_first_in_id_order():
    z = np.array([[5.0, 0.0, 4.0, 0.0], [0.0, 5.0, 0.0, 1.0], [5.0, 1.0, 4.5, 0.0]])
    with pytest.warns(UserWarning, match="argmax of no point"):
        tree = build_hierarchy(z)
    merges = merges_as_leaves(tree)
    assert merges == reference_l2h(z)
    # Cluster 2 is empty and gets its mass from cluster 0; cluster 3 from cluster 1.
    assert merges[:2] == [((2,), (0,)), ((3,), (1,))]
    assert list(tree.sizes) == [2, 1, 0, 0]


def test_one_cluster_is_a_one_leaf_tree():
    tree = build_hierarchy(np.zeros((5, 1)))
    assert tree.n_leaves == 1 and tree.children == []


def test_point_with_all_restricted_logits_neg_inf_gives_nothing():
    z = np.array([[0.0, -np.inf, -np.inf], [0.0, 1.0, -np.inf], [-np.inf, -np.inf, 2.0]])
    assert ours(z) == reference_l2h(z)


@SETTINGS
@given(logit_matrices(max_n=30, max_k=8, allow_empty=False))
def test_runner_up_and_share_follow_their_definition(z):
    """assign's runner-up share is SPEC step 2 for a point whose own cluster is `low`."""
    got = kernels.assign(z, 0, "z")
    for i, row in enumerate(z.astype(np.float64)):
        others = row.copy()
        others[got.cluster[i]] = -np.inf
        if np.isneginf(others).all():
            assert got.runner_up[i] == -1 and got.share[i] == 0.0
            continue
        r = int(np.argmax(others))
        assert got.runner_up[i] == r
        assert got.share[i] == pytest.approx(1.0 / np.exp(others - others[r]).sum(), rel=1e-13)


def test_runner_up_far_below_the_max_keeps_full_precision():
    # exp(-700) and exp(-701) are near float64's bottom next to the max; the share must still
    # be 1 / (1 + e^-1), and a runner-up 800 below the max must not vanish.
    z = np.array([[0.0, -700.0, -701.0], [0.0, -800.0, -2000.0], [-900.0, 0.0, -700.5]])
    got = kernels.assign(z, 0, "z")
    assert list(got.runner_up) == [1, 1, 2]
    assert got.share == pytest.approx([1 / (1 + np.exp(-1.0)), 1.0, 1 / (1 + np.exp(-199.5))],
                                      rel=1e-14)
    assert ours(z) == reference_l2h(z)


def test_lone_runner_up_gets_exactly_one():
    z = np.array([[0.5, 0.25, -np.inf], [-np.inf, 2.0, 1.0]], dtype=np.float32)
    assert list(kernels.assign(z, 0, "z").share) == [1.0, 1.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_kept_max_picks_the_first_of_equal_values(dtype, kernel_backend):
    """The compiled kernels find the restricted max on integer keys (and, for float32, with
    the column packed in); ties, -0.0 against +0.0 and -inf must come out as np.argmax has it."""
    if kernels._compiled is None:
        pytest.skip("numba is not installed")
    rng = np.random.default_rng(3)
    values = np.array([-np.inf, -2.5, -0.0, 0.0, 1.0, 1.0, 3.0, -1e-30, 1e-30], dtype=dtype)
    for _ in range(400):
        k = int(rng.integers(1, 12))
        row = rng.choice(values, size=k)
        keep = rng.random(k) < 0.7
        top, arg = kernels._compiled._kept_top(row, keep)
        kept = np.where(keep, row, -np.inf)
        if not keep.any() or np.isneginf(kept).all():
            assert arg == -1
        else:
            assert arg == int(np.argmax(kept)) and top == kept.max(), (row, keep)


@settings(max_examples=30, deadline=None)
@given(logit_matrices(max_n=80, max_k=9, allow_empty=False, allow_neg_inf=False))
def test_margins_and_shares_match_an_independent_float64_computation(z):
    stats = []
    reference_l2h(z, stats=stats)
    # The fast steps' shares are within FAST_ERROR; this compares float64 with float64.
    merge.FAST_ARITHMETIC = False
    tree = build_hierarchy(z, workers=1)
    got = np.column_stack([tree.merge_stats[k] for k in ("margin_low", "margin_best",
                                                          "strength", "runner_up_share")])
    want = np.array(stats, dtype=float).reshape(-1, 4)
    # The merges of empty clusters come first and have no margins.
    assert np.isnan(got[:len(got) - len(want)]).all()
    got = got[len(got) - len(want):]
    # Margins are differences of close values: compare to a tolerance scaled to the inputs.
    assert np.allclose(got, want, rtol=1e-7, atol=1e-9, equal_nan=True)


@pytest.mark.parametrize("seed", range(6))
def test_empty_cluster_rule_split_over_host_ranges_equals_one_pass(seed, tmp_path):
    """The worker threads each take a range of hosts; combined, they choose the hosts one
    pass over all of them chooses, ties (equal sums, whatever range they fall in) included."""
    rng = np.random.default_rng(seed)
    k, n = 12, 60
    z = rng.integers(-3, 3, size=(n, k)).astype(np.float32)
    z[:, :4] = -20  # empty clusters 0-3
    z[np.arange(n), 4 + rng.integers(0, k - 4, n)] = 5  # every point picks a cluster 4..11
    if seed % 2:
        # Every host has as many points, the same rows but for where the 5 sits: equal sums.
        z[:, 4:] = 0
        z[np.arange(n), 4 + np.arange(n) % (k - 4)] = 5
        z[:, :4] = z[0, :4]
    labels = np.argmax(z, axis=1)
    conf = 1 / np.exp(z - z.max(axis=1, keepdims=True)).astype(np.float64).sum(axis=1)
    order = np.argsort(labels, kind="stable")
    wanted = np.zeros(k, bool)
    wanted[:4] = True
    hosts = np.unique(labels)
    path = tmp_path / "z.npy"
    np.save(path, z)
    from l2h_cli.readers.rawio import RowReader
    reader = RowReader(os.open(path, os.O_RDONLY), 128, np.dtype(np.float32), k, str(path),
                       owns_fd=True)

    def rule_over(source, part):
        rule = kernels.EmptyHosts(wanted, int(hosts[0]))
        points = order[np.isin(labels[order], part)]
        rule.add(source, points, labels[points], conf[points])
        return rule

    one = rule_over(z, hosts).hosts()[:4]
    assert np.isin(one, hosts).all()
    if seed % 2:
        assert list(one) == [hosts[0]] * 4
    for source in (z, reader):
        for cut in range(1, len(hosts)):
            split = [rule_over(source, hosts[:cut]), rule_over(source, hosts[cut:])]
            assert list(kernels.EmptyHosts.combine(split)[:4]) == list(one)
    reader.close()
