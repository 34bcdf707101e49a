"""Sparse (top-k) rows equal the dense matrix filled with -inf, on random and adversarial
inputs, from arrays and from files written by numpy, h5py, pyarrow, safetensors and torch."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import l2h_main
from l2h_cli import InputError, SparseArrayReader, build_hierarchy
from reference import merges_as_leaves, reference_l2h

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


@st.composite
def sparse_rows(draw, max_n=50, max_k=12):
    """(indices, values, K, the dense equivalent): empty and absent columns, padding by -1
    and by -inf, rows with one finite entry, exact ties."""
    n = draw(st.integers(1, max_n))
    K = draw(st.integers(1, max_k))
    k = draw(st.integers(1, K))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    idx = np.array([rng.choice(K, k, replace=False) for _ in range(n)])
    if draw(st.booleans()):  # few columns ever used: many absent ones
        idx = np.where(idx < max(1, K // 2), idx, -1)
        idx[:, 0] = rng.integers(0, max(1, K // 2), n)
        idx = np.array([_dedupe(row) for row in idx])
    val = rng.normal(scale=draw(st.sampled_from([0.3, 3.0])), size=(n, k))
    if draw(st.booleans()):
        val = np.round(val)  # exact ties
    pad = (rng.random((n, k)) < draw(st.sampled_from([0.0, 0.3, 0.7]))) & (idx >= 0)
    pad[:, 0] = False
    by_minus_one = rng.random((n, k)) < 0.5
    idx = np.where(pad & by_minus_one, -1, idx)
    val = np.where(pad & ~by_minus_one, -np.inf, val)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    val = val.astype(dtype)
    dense = np.full((n, K), -np.inf, dtype=dtype)
    for i, j in zip(*np.nonzero(idx >= 0)):
        dense[i, idx[i, j]] = val[i, j]
    return idx, val, K, dense


def _dedupe(row):
    seen, out = set(), []
    for c in row:
        out.append(-1 if c in seen or c < 0 else c)
        seen.add(c)
    return out


@SETTINGS
@given(sparse_rows(), st.sampled_from(["sum", "mean", "min", "max"]), st.booleans())
def test_sparse_rows_match_the_reference_on_the_dense_matrix(rows, aggregate, keep_absent):
    idx, val, K, dense = rows
    tree = build_hierarchy(SparseArrayReader(idx, val, K), aggregate=aggregate, workers=1,
                           keep_absent=keep_absent)
    assert merges_as_leaves(tree) == reference_l2h(dense, aggregate=aggregate,
                                                   keep_absent=keep_absent)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sparse_rows(max_n=120), st.integers(1, 9), st.floats(0.25, 4.0))
def test_sparse_rows_spilled_in_blocks_with_a_temperature(rows, chunk, temperature):
    idx, val, K, dense = rows
    tree = build_hierarchy(SparseArrayReader(idx, val, K), memory=1, chunk_rows=chunk,
                           workers=2, temperature=temperature)
    assert merges_as_leaves(tree) == reference_l2h(dense, temperature=temperature)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sparse_rows(max_n=40, max_k=8))
def test_sparse_probabilities_match_the_reference(rows):
    idx, val, K, dense = rows
    with np.errstate(over="ignore"):
        p = np.exp(val.astype(np.float64))
    p = np.where(np.isfinite(p), p, 0.0)
    p = p / (p.sum(axis=1, keepdims=True) * 1.25)  # rows sum to 0.8: the rest is not stored
    dense_p = np.zeros((len(idx), K))
    for i, j in zip(*np.nonzero(idx >= 0)):
        dense_p[i, idx[i, j]] = p[i, j]
    tree = build_hierarchy(SparseArrayReader(idx, p, K), input="probs", workers=1)
    assert merges_as_leaves(tree) == reference_l2h(dense_p, input="probs")


@pytest.mark.parametrize("case,idx,val,word", [
    ("duplicate", [[0, 0]], [[1.0, 2.0]], "the same column twice"),
    ("out of range", [[0, 7]], [[1.0, 2.0]], "outside 0..3"),
    ("below -1", [[0, -2]], [[1.0, 2.0]], "outside 0..3"),
    ("nan", [[0, 1]], [[np.nan, 2.0]], "NaN"),
    ("all padding", [[-1, 1]], [[1.0, -np.inf]], "no finite logit"),
])
def test_bad_sparse_rows_are_input_errors(case, idx, val, word):
    with pytest.raises(InputError, match=word):
        build_hierarchy(SparseArrayReader(np.array(idx), np.array(val), 4))


@pytest.fixture(scope="module")
def top_k(tmp_path_factory):
    """One sparse matrix written by each library, and its dense equivalent."""
    d = tmp_path_factory.mktemp("formats")
    rng = np.random.default_rng(5)
    n, K, k = 400, 60, 5
    idx = np.array([rng.choice(K - 10, k, replace=False) for _ in range(n)])  # 10 absent
    val = rng.normal(scale=2.0, size=(n, k)).astype(np.float32)
    dense = np.full((n, K), -np.inf, np.float32)
    np.put_along_axis(dense, idx, val, axis=1)
    paths = {"dense.npy": d / "dense.npy"}
    np.save(paths["dense.npy"], dense)
    paths["npz"] = d / "s.npz"
    np.savez(paths["npz"], indices=idx, values=val, n_classes=K)
    paths["npz compressed"] = d / "sc.npz"
    np.savez_compressed(paths["npz compressed"], indices=idx, values=val, n_classes=K)
    paths["npz dense"] = d / "dense.npz"
    np.savez_compressed(paths["npz dense"], logits=dense)
    paths["h5"] = d / "s.h5"
    with h5py.File(paths["h5"], "w") as f:
        f["indices"], f["values"] = idx, val
        f.attrs["n_classes"] = K
    paths["parquet"] = d / "s.parquet"
    table = pa.table({"indices": pa.array(list(idx)), "values": pa.array(list(val))})
    pq.write_table(table.replace_schema_metadata({"n_classes": str(K)}), paths["parquet"],
                   row_group_size=90)
    paths["parquet ragged"] = d / "ragged.parquet"  # trailing -inf entries not stored
    lists_i = [row[: 3 + i % 3] for i, row in enumerate(idx)]
    lists_v = [row[: 3 + i % 3] for i, row in enumerate(val)]
    pq.write_table(pa.table({"indices": pa.array(lists_i), "values": pa.array(lists_v)}),
                   paths["parquet ragged"])
    safetensors = pytest.importorskip("safetensors.numpy")
    paths["safetensors"] = d / "s.safetensors"
    safetensors.save_file({"indices": idx.astype(np.int64), "values": val},
                          str(paths["safetensors"]), metadata={"n_classes": str(K)})
    paths["safetensors dense"] = d / "dense.safetensors"
    safetensors.save_file({"logits": dense}, str(paths["safetensors dense"]))
    torch = pytest.importorskip("torch")
    paths["pt dense"] = d / "dense.pt"
    torch.save(torch.from_numpy(dense), paths["pt dense"])
    paths["pt"] = d / "s.pt"
    torch.save({"indices": torch.from_numpy(idx), "values": torch.from_numpy(val),
                "n_classes": K}, paths["pt"])
    ragged = np.full((n, K), -np.inf, np.float32)
    for i in range(n):
        ragged[i, lists_i[i]] = lists_v[i]
    return paths, dense, ragged


@pytest.mark.parametrize("kind", ["npz", "npz compressed", "npz dense", "h5", "parquet",
                                  "parquet ragged", "safetensors", "safetensors dense",
                                  "pt dense", "pt"])
@pytest.mark.parametrize("memory", [2**30, 1])
def test_every_format_gives_the_reference_tree(top_k, kind, memory):
    paths, dense, ragged = top_k
    tree = build_hierarchy(str(paths[kind]), memory=memory, chunk_rows=37,
                           n_classes=60 if kind == "parquet ragged" else None)
    expected = ragged if kind == "parquet ragged" else dense
    assert merges_as_leaves(tree) == reference_l2h(expected)
    assert list(tree.absent) == list(range(50, 60))


def test_cli_on_sparse_files_builds_cuts_evaluates_and_describes(top_k, tmp_path,
                                                                  capfdbinary):
    paths, dense, _ = top_k
    np.save(tmp_path / "y.npy", np.argmax(dense, axis=1) % 4)
    tree = str(tmp_path / "t.json")
    code, _, err = l2h_main(capfdbinary, "build", str(paths["parquet"]), "-o", tree)
    assert code == 0 and b"10 column(s) have no finite logit" in err, err
    data = json.loads(open(tree).read())
    assert data["absent"] == list(range(50, 60)) and data["n_leaves"] == 50
    assert data["leaves"][7]["column"] == 7
    code, out, err = l2h_main(capfdbinary, "cut", tree, "--k", "4", str(paths["npz"]))
    assert code == 0, err
    groups = np.array(out.split(), dtype=int)
    code, dense_out, _ = l2h_main(capfdbinary, "cut", tree, "--k", "4",
                                  str(paths["dense.npy"]))
    assert np.array_equal(groups, np.array(dense_out.split(), dtype=int))
    code, out, err = l2h_main(capfdbinary, "evaluate", tree, str(paths["h5"]), "--labels",
                              str(tmp_path / "y.npy"), "--json", "-")
    assert code == 0 and json.loads(out)["n_points"] == 400, err
    code, out, err = l2h_main(capfdbinary, "info", str(paths["safetensors"]), "--json")
    assert code == 0 and json.loads(out)["n_classes"] == 60, err


def test_sparse_file_without_its_number_of_classes_asks_for_it(tmp_path, capfdbinary):
    np.savez(tmp_path / "s.npz", indices=np.array([[0, 1]]), values=np.array([[1.0, 0.0]]))
    code, _, err = l2h_main(capfdbinary, "build", str(tmp_path / "s.npz"), "-o",
                            str(tmp_path / "t.nwk"))
    assert code == 3 and b"--n-classes" in err, err
    code, _, err = l2h_main(capfdbinary, "build", str(tmp_path / "s.npz"), "--n-classes", "3",
                            "-o", str(tmp_path / "t.nwk"))
    assert code == 0, err


def test_all_pairs_refuses_a_table_beyond_the_budget(tmp_path, capfdbinary):
    np.save(tmp_path / "z.npy", np.random.default_rng(0).normal(size=(10, 300)))
    code, _, err = l2h_main(capfdbinary, "build", str(tmp_path / "z.npy"), "-o",
                            str(tmp_path / "t.nwk"), "--strategy", "all-pairs", "--memory",
                            "200K")
    assert code == 2 and b"300 x 300" in err and b"0.687 MiB" in err, err
