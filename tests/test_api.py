"""The notebook API: build, load, save, cut, evaluate and the L2H estimator agree with the
command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import l2h_main
from l2h_cli import L2H, Tree, build_hierarchy, evaluate, load_tree

Z = np.random.default_rng(4).normal(scale=2.0, size=(400, 8)).astype(np.float32)
Y = np.argmax(Z, axis=1) % 3


def test_api_matches_the_command_line(tmp_path, capfdbinary):
    np.save(tmp_path / "z.npy", Z)
    np.save(tmp_path / "y.npy", Y)
    tree = build_hierarchy(str(tmp_path / "z.npy"))
    for ext in ("json", "nwk", "npy"):
        tree.save(str(tmp_path / f"api.{ext}"))
        code, _, err = l2h_main(capfdbinary, "build", str(tmp_path / "z.npy"), "-o",
                                str(tmp_path / f"cli.{ext}"))
        assert code == 0, err
        assert (tmp_path / f"api.{ext}").read_bytes() == (tmp_path / f"cli.{ext}").read_bytes()
        back = load_tree(str(tmp_path / f"api.{ext}"))
        assert back.children == tree.children
    assert tree.to_newick() + "\n" == (tmp_path / "cli.nwk").read_text()
    assert json.loads(tree.to_json())["merges"] == json.loads(
        (tmp_path / "cli.json").read_text())["merges"]
    assert np.array_equal(tree.to_linkage(), np.load(tmp_path / "cli.npy"))

    metrics = evaluate(tree, str(tmp_path / "z.npy"), list(Y))
    code, out, err = l2h_main(capfdbinary, "evaluate", str(tmp_path / "cli.json"),
                              str(tmp_path / "z.npy"), "--labels", str(tmp_path / "y.npy"),
                              "--json", "-")
    cli = json.loads(out)["levels"][0]
    assert all(metrics[key] == pytest.approx(cli[key]) for key in
               ("nmi", "nmi_geometric", "ari", "acc", "lp", "dp", "lhd"))
    both = evaluate(tree, Z, [Y, Y % 2])
    assert isinstance(both, list) and len(both) == 2 and both[0]["nmi"] == metrics["nmi"]

    code, out, _ = l2h_main(capfdbinary, "cut", str(tmp_path / "cli.json"), "--k", "3")
    assert tree.cut(3).tolist() == [int(x) for x in out.split()]


def test_estimator_follows_scikit_learn_conventions():
    sklearn_base = pytest.importorskip("sklearn.base")
    model = L2H(n_clusters=3, aggregate="mean")
    clone = sklearn_base.clone(model)
    assert clone.get_params() == model.get_params() and clone is not model
    labels = model.fit_predict(Z)
    assert model.n_leaves_ == 8 and model.children_.shape == (7, 2)
    assert isinstance(model.tree_, Tree)
    assert np.array_equal(labels, model.labels_)
    assert np.array_equal(labels, model.tree_.cut(3)[np.argmax(Z, axis=1)])
    assert np.array_equal(model.predict(Z[:10]), labels[:10])
    assert model.set_params(n_clusters=2) is model and model.n_clusters == 2
    with pytest.raises(ValueError):
        model.set_params(bogus=1)
    assert repr(L2H(n_clusters=3)) == "L2H(n_clusters=3)"


def test_linkage_from_the_tree_is_valid_for_scipy():
    hierarchy = pytest.importorskip("scipy.cluster.hierarchy")
    tree = build_hierarchy(Z)
    assert hierarchy.is_valid_linkage(tree.to_linkage())
    back = Tree.from_linkage(tree.to_linkage())
    assert back.children == tree.children


def test_public_names_load_on_first_use_and_the_command_line_skips_scipy():
    """`import l2h_cli` defers its public names (PEP 562), so `l2h build` does not load the
    evaluation's SciPy optimiser; every name in __all__ still resolves."""
    import subprocess
    import sys

    import l2h_cli
    for name in l2h_cli.__all__:
        assert getattr(l2h_cli, name) is not None
    assert set(l2h_cli.__all__) <= set(dir(l2h_cli))
    with pytest.raises(AttributeError):
        l2h_cli.no_such_name
    code = ("import sys, l2h_cli.cli.app, l2h_cli.engine.build; "
            "print('scipy.optimize' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
