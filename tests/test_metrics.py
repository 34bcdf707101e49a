"""Every metric against a brute-force computation from its definition (SPEC section 3)."""

import itertools
import math

import numpy as np
import pytest
from sklearn import metrics as skm

from l2h_cli.evaluation.evaluate import evaluate_level
from l2h_cli.evaluation.labels import Labels
from l2h_cli.trees.tree import Tree


def random_tree(rng, k, max_arity=2):
    active = list(range(k))
    children = []
    while len(active) > 1:
        m = int(rng.integers(2, min(max_arity, len(active)) + 1))
        picked = [active.pop(int(rng.integers(len(active)))) for _ in range(m)]
        children.append(tuple(picked))
        active.append(k + len(children) - 1)
    return Tree(k, children, np.arange(1, len(children) + 1, dtype=float))


def chain_tree(k):
    return Tree(k, [(0, 1)] + [(k + t - 1, t + 1) for t in range(1, k - 1)],
                np.arange(1, k, dtype=float))


# ---- brute force from the definitions ----------------------------------------------------
def ancestors(tree, leaf):
    parent = tree.parents()
    out = [leaf]
    while parent[out[-1]] >= 0:
        out.append(int(parent[out[-1]]))
    return out


def brute_cut(tree, k):
    groups = [{i} for i in range(tree.n_leaves)]
    node_leaves = {i: {i} for i in range(tree.n_leaves)}
    for t, ch in enumerate(tree.children):
        if len(groups) - (len(ch) - 1) < k:
            break
        merged = set().union(*(node_leaves[c] for c in ch))
        node_leaves[tree.n_leaves + t] = merged
        groups = [g for g in groups if not g <= merged] + [merged]
    groups.sort(key=min)
    out = np.empty(tree.n_leaves, dtype=int)
    for gi, g in enumerate(groups):
        out[list(g)] = gi
    return out


def brute_nmi(pred, true, average):
    n = len(pred)
    P = {}
    for a, b in zip(pred, true):
        P[(a, b)] = P.get((a, b), 0) + 1 / n
    pa = {a: np.mean(pred == a) for a in set(pred)}
    pb = {b: np.mean(true == b) for b in set(true)}
    if len(pa) == len(pb) == 1:
        return 1.0
    mi = sum(p * math.log(p / (pa[a] * pb[b])) for (a, b), p in P.items())
    if abs(mi) < 1e-15:
        return 0.0
    ha = -sum(p * math.log(p) for p in pa.values())
    hb = -sum(p * math.log(p) for p in pb.values())
    norm = (ha + hb) / 2 if average == "arithmetic" else math.sqrt(ha * hb)
    return mi / norm


def brute_ari(pred, true):
    n = len(pred)
    pairs = list(itertools.combinations(range(n), 2))
    same_p = np.array([pred[i] == pred[j] for i, j in pairs])
    same_t = np.array([true[i] == true[j] for i, j in pairs])
    tp = np.sum(same_p & same_t)
    fp = np.sum(same_p & ~same_t)
    fn = np.sum(~same_p & same_t)
    if fp == 0 and fn == 0:
        return 1.0
    # Hubert and Arabie's ARI written with pair counts.
    expected = (tp + fp) * (tp + fn) / len(pairs)
    maximum = ((tp + fp) + (tp + fn)) / 2
    return (tp - expected) / (maximum - expected)


def brute_acc(pred, true):
    gs, ys = sorted(set(pred)), sorted(set(true))
    best = 0
    if len(gs) <= len(ys):
        for perm in itertools.permutations(ys, len(gs)):
            m = dict(zip(gs, perm))
            best = max(best, sum(m[g] == y for g, y in zip(pred, true)))
    else:
        for perm in itertools.permutations(gs, len(ys)):
            m = dict(zip(perm, ys))
            best = max(best, sum(m.get(g) == y for g, y in zip(pred, true)))
    return best / len(pred)


def brute_dp_lhd(tree, leaf, y):
    n = len(leaf)
    anc = {v: ancestors(tree, v) for v in range(tree.n_leaves)}
    under = {}
    for i in range(n):
        for v in anc[leaf[i]]:
            under.setdefault(v, []).append(i)
    leaf_pairs = list(itertools.combinations(range(tree.n_leaves), 2))

    def dist(a, b):
        common = next(v for v in anc[a] if v in anc[b])
        return anc[a].index(common) + anc[b].index(common)

    D = max((dist(a, b) for a, b in leaf_pairs), default=0)
    dp_vals, lhd_vals = [], []
    for i, j in itertools.combinations(range(n), 2):
        if y[i] != y[j]:
            continue
        lca = next(v for v in anc[leaf[i]] if v in anc[leaf[j]])
        members = under[lca]
        dp_vals.append(np.mean([y[m] == y[i] for m in members]))
        if leaf[i] != leaf[j]:
            lhd_vals.append(math.log(dist(leaf[i], leaf[j])) / math.log(D))
    dp = np.mean(dp_vals) if dp_vals else float("nan")
    lhd = np.mean(lhd_vals) if lhd_vals else 0.0
    return dp, lhd


CASES = [
    # (K, C, n points, max arity, label kind)
    (6, 3, 40, 2, "int"),       # K > C
    (4, 7, 35, 2, "int"),       # K < C: flat metrics on the leaves
    (5, 5, 30, 3, "str"),       # K = C, non-binary nodes, string labels
    (8, 4, 25, 4, "int"),
    (7, 2, 30, 2, "chain"),     # unbalanced: a caterpillar
    (6, 9, 12, 2, "single"),    # many single-point classes
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("seed", range(4))
def test_metrics_match_brute_force(case, seed):
    k, c, n, arity, kind = CASES[case]
    rng = np.random.default_rng(seed * 31 + case)
    tree = chain_tree(k) if kind == "chain" else random_tree(rng, k, arity)
    leaf = rng.integers(0, k, size=n)
    raw = rng.integers(0, c, size=n)
    if kind == "str":
        raw = np.array([["ant", "bee", "cat's", "dog", "eel"][v] for v in raw])
    if kind == "single":
        raw = np.arange(n) % c
        raw[: c // 2] = np.arange(100, 100 + c // 2)  # classes with a single point
    classes, codes = np.unique(raw, return_inverse=True)
    got = evaluate_level(tree, leaf, Labels("y", codes, classes))
    C = len(classes)
    cut = brute_cut(tree, min(C, k))
    pred = cut[leaf]
    assert got["cut_k"] == min(C, k)
    assert got["nmi"] == pytest.approx(brute_nmi(pred, codes, "arithmetic"), abs=1e-9)
    assert got["nmi"] == pytest.approx(skm.normalized_mutual_info_score(codes, pred), abs=1e-9)
    assert got["nmi_geometric"] == pytest.approx(brute_nmi(pred, codes, "geometric"), abs=1e-9)
    assert got["ari"] == pytest.approx(brute_ari(pred, codes), abs=1e-9)
    assert got["ari"] == pytest.approx(skm.adjusted_rand_score(codes, pred), abs=1e-9)
    assert got["acc"] == pytest.approx(brute_acc(pred, codes), abs=1e-12)
    lp = sum(max(np.sum(codes[leaf == v] == y) for y in range(C)) for v in range(k)) / n
    assert got["lp"] == pytest.approx(lp, abs=1e-12)
    dp, lhd = brute_dp_lhd(tree, leaf, codes)
    if math.isnan(dp):
        assert math.isnan(got["dp"])
    else:
        assert got["dp"] == pytest.approx(dp, abs=1e-9)
    assert got["lhd"] == pytest.approx(lhd, abs=1e-9)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("arity", [2, 4])
def test_cut_matches_brute_force_at_every_k(seed, arity):
    rng = np.random.default_rng(seed)
    tree = random_tree(rng, 9, arity)
    for k in range(1, 10):
        assert np.array_equal(tree.cut(k), brute_cut(tree, k)), k


def test_perfect_hierarchy_scores_perfectly():
    # Two groups of two leaves; labels equal the leaves' groups.
    tree = Tree(4, [(0, 1), (2, 3), (4, 5)], [1.0, 2.0, 3.0])
    leaf = np.repeat(np.arange(4), 5)
    codes = leaf // 2
    got = evaluate_level(tree, leaf, Labels("y", codes, np.array([0, 1])))
    for key in ("nmi", "nmi_geometric", "ari", "acc", "lp", "dp"):
        assert got[key] == pytest.approx(1.0, abs=1e-12), key
    assert got["lhd"] == pytest.approx(math.log(2) / math.log(4))


def test_sparse_tables_give_the_dense_flat_metrics():
    from scipy import sparse

    from l2h_cli.evaluation.metrics import acc, ari, nmi
    rng = np.random.default_rng(0)
    for _ in range(200):
        g, y = rng.integers(1, 9, 2)
        dense = rng.integers(0, 5, (g, y)) * (rng.random((g, y)) < 0.5)
        if dense.sum() == 0:
            continue
        table = sparse.csr_matrix(dense)
        for metric in (acc, ari, nmi):
            assert metric(table) == pytest.approx(metric(dense), abs=1e-12)


@pytest.mark.parametrize("seed", range(30))
def test_node_majority_matches_counting_every_node(seed):
    """Per-node majority label and purity from small-to-large tables equal a dense count of
    every node's points (the views use them for purity at any number of labels)."""
    from l2h_cli.evaluation.metrics import LeafCounts, node_majority

    rng = np.random.default_rng(seed)
    k, c = int(rng.integers(1, 40)), int(rng.integers(1, 12))
    tree = random_tree(rng, k, max_arity=int(rng.integers(2, 4)))
    n = int(rng.integers(0, 300))
    leaf, y = rng.integers(0, k, n), rng.integers(0, c, n)
    total, label, best = node_majority(tree, LeafCounts.of(leaf, y, k, c))
    for node in range(tree.n_nodes):
        under = np.isin(leaf, tree.leaves_of(node))
        dense = np.bincount(y[under], minlength=c)
        assert total[node] == under.sum() and best[node] == dense.max()
        assert (label[node] == -1) if not under.any() else dense[label[node]] == dense.max()
