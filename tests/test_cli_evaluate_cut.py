"""`l2h evaluate`, `l2h cut` and `l2h info` as users run them."""

import csv
import io
import json

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from l2h_cli import build_hierarchy
from l2h_cli.evaluation.evaluate import evaluate_level
from l2h_cli.evaluation.labels import Labels
from helpers import run_l2h
from test_metrics import brute_cut


@pytest.fixture
def setup(tmp_path):
    rng = np.random.default_rng(4)
    k, n = 8, 400
    y = rng.integers(0, k, size=n)
    z = rng.normal(size=(n, k)).astype(np.float32)
    z[np.arange(n), y] += 2.5
    np.save(tmp_path / "train.npy", z)
    test = z[:150].copy()
    np.save(tmp_path / "test.npy", test)
    np.save(tmp_path / "y.npy", y[:150])
    np.save(tmp_path / "coarse.npy", y[:150] // 3)
    names = [f"class {i}" for i in range(k)]
    (tmp_path / "names.txt").write_text("\n".join(names) + "\n")
    proc = run_l2h("build", str(tmp_path / "train.npy"), "--names", str(tmp_path / "names.txt"),
                   "-o", str(tmp_path / "t.json"), "-o", str(tmp_path / "t.nwk"),
                   "-o", str(tmp_path / "t_link.npy"))
    assert proc.returncode == 0, proc.stderr
    tree = build_hierarchy(z, names=names)
    return tmp_path, tree, test, y[:150]


def evaluate_json(*args):
    proc = run_l2h("evaluate", *args, "--json", "-")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_evaluate_same_result_for_json_newick_and_linkage_trees(setup):
    d, tree, test, y = setup
    a = evaluate_json(str(d / "t.json"), str(d / "test.npy"), "--labels", str(d / "y.npy"),
                      "--labels", str(d / "coarse.npy"))
    b = evaluate_json(str(d / "t.nwk"), str(d / "test.npy"), "--names", str(d / "names.txt"),
                      "--labels", str(d / "y.npy"), "--labels", str(d / "coarse.npy"))
    c = evaluate_json(str(d / "t_link.npy"), str(d / "test.npy"), "--labels", str(d / "y.npy"),
                      "--labels", str(d / "coarse.npy"))
    keys = ("nmi", "ari", "acc", "lp", "dp", "lhd")
    for la, lb, lc in zip(a["levels"], b["levels"], c["levels"]):
        for key in keys:
            assert la[key] == pytest.approx(lb[key]) == pytest.approx(lc[key])
    assert [lv["n_classes"] for lv in a["levels"]] == [8, 3]
    classes, codes = np.unique(y, return_inverse=True)
    expected = evaluate_level(tree, test.argmax(1), Labels("y", codes, classes))
    for key in keys:
        assert a["levels"][0][key] == pytest.approx(expected[key])


def test_labels_from_text_h5_and_parquet(setup, tmp_path):
    d, tree, test, y = setup
    words = np.array(["apple", "pear", "fig's", "kiwi", "lime", "plum", "date", "yuzu"])[y]
    (d / "y.txt").write_text("\n".join(words) + "\n")
    with h5py.File(d / "test.h5", "w") as f:
        f["logits"] = test
        f["labels"] = y
    pq.write_table(pa.table({"label": pa.array(y)}), d / "y.parquet")
    base = evaluate_json(str(d / "t.json"), str(d / "test.npy"), "--labels", str(d / "y.npy"))
    for spec in (str(d / "y.txt"), str(d / "y.parquet"), str(d / "test.h5")):
        got = evaluate_json(str(d / "t.json"), str(d / "test.h5"), "--labels", spec)
        assert got["levels"][0]["nmi"] == pytest.approx(base["levels"][0]["nmi"]), spec
    # Labels beside the logits in the .h5 are the default.
    got = evaluate_json(str(d / "t.json"), str(d / "test.h5"))
    assert got["levels"][0]["ari"] == pytest.approx(base["levels"][0]["ari"])


def test_table_on_stdout_and_json_file(setup):
    d, *_ = setup
    proc = run_l2h("evaluate", str(d / "t.json"), str(d / "test.npy"), "--labels",
                   str(d / "y.npy"), "--json", str(d / "m.json"))
    assert proc.returncode == 0
    out = proc.stdout.decode()
    assert "NMI" in out and "y.npy" in out
    assert set(json.loads((d / "m.json").read_text())["levels"][0]) >= {
        "nmi", "ari", "acc", "lp", "dp", "lhd"}


@pytest.mark.parametrize("case", ["count", "leaves", "newick", "names"])
def test_evaluate_bad_input(setup, case):
    d, *_ = setup
    args = [str(d / "t.json"), str(d / "test.npy"), "--labels", str(d / "y.npy")]
    if case == "count":
        np.save(d / "short.npy", np.zeros(10, dtype=int))
        args[3], word = str(d / "short.npy"), "10 labels for 150 points"
    elif case == "leaves":
        np.save(d / "wide.npy", np.zeros((150, 9), dtype=np.float32))
        args[1], word = str(d / "wide.npy"), "9 columns"
    elif case == "newick":
        (d / "bad.nwk").write_text("((0,1),(2,3);\n")
        args[0], word = str(d / "bad.nwk"), "bad.nwk"
    else:
        args[0], word = str(d / "t.nwk"), "not a cluster id"
    proc = run_l2h("evaluate", *args)
    assert proc.returncode == 3, proc.stderr
    err = proc.stderr.decode()
    assert word in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def expected_cut(tree, k):
    return brute_cut(tree, k)


@pytest.mark.parametrize("fmt", ["npy", "csv", "txt", "stdout"])
def test_cut_leaves_and_points_in_every_format(setup, fmt):
    d, tree, test, _ = setup
    ks = [1, 3, 8]
    for with_points in (False, True):
        out = "-" if fmt == "stdout" else str(d / f"cut.{fmt}")
        args = ["cut", str(d / "t.json"), *sum((["--k", str(k)] for k in ks), [])]
        if with_points:
            args.append(str(d / "test.npy"))
        proc = run_l2h(*args, "-o", out)
        assert proc.returncode == 0, proc.stderr
        expected = np.stack([expected_cut(tree, k) for k in ks], axis=1)
        if with_points:
            expected = expected[test.argmax(1)]
        if fmt == "npy":
            got = np.load(out)
        elif fmt == "csv":
            rows = list(csv.reader(open(out)))
            assert rows[0][-3:] == ["group_k1", "group_k3", "group_k8"]
            assert rows[0][0] == ("point" if with_points else "leaf")
            if not with_points:
                assert [r[1] for r in rows[1:]] == tree.names
            got = np.array([[int(v) for v in r[-3:]] for r in rows[1:]])
        else:
            text = proc.stdout.decode() if out == "-" else open(out).read()
            got = np.loadtxt(io.StringIO(text), dtype=int, ndmin=2)
        assert np.array_equal(got, expected)
        for j, k in enumerate(ks):
            assert sorted(set(got[:, j])) == list(range(len(set(got[:, j]))))


def test_cut_one_file_per_k_and_newick_tree(setup):
    d, tree, *_ = setup
    proc = run_l2h("cut", str(d / "t.nwk"), "--names", str(d / "names.txt"), "--k", "2",
                   "--k", "5", "-o", str(d / "k2.npy"), "-o", str(d / "k5.txt"))
    assert proc.returncode == 0, proc.stderr
    assert np.array_equal(np.load(d / "k2.npy"), expected_cut(tree, 2))
    assert np.array_equal(np.loadtxt(d / "k5.txt", dtype=int), expected_cut(tree, 5))


@pytest.mark.parametrize("k", ["0", "9"])
def test_cut_k_out_of_range(setup, k):
    d, *_ = setup
    proc = run_l2h("cut", str(d / "t.json"), "--k", k, "-o", str(d / "c.npy"))
    assert proc.returncode == 3
    assert "outside 1..8" in proc.stderr.decode()
    assert not (d / "c.npy").exists()


def test_info_reports_shape_and_empty_clusters(tmp_path):
    z = np.zeros((5, 4), dtype=np.float32)
    z[:, 1] = 1
    z[0, 3] = 2
    with h5py.File(tmp_path / "z.h5", "w") as f:
        f.create_dataset("logits", data=z, chunks=(2, 4))
    proc = run_l2h("info", str(tmp_path / "z.h5"), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["shape"] == [5, 4] and data["chunks"] == [2, 4] and data["dtype"] == "float32"
    assert data["cluster_sizes"] == [0, 4, 0, 1] and data["empty_clusters"] == [0, 2]
    text = run_l2h("info", str(tmp_path / "z.h5")).stdout.decode()
    assert "empty clusters: 2 (0, 2)" in text and "0:0!" in text
