"""How the command line reads: help texts, tables for terminals and pipes, trees through
pipes, and round trips of every tree format."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import l2h_main
from l2h_cli import Tree
from l2h_cli.trees.jsontree import parse_json_tree
from l2h_cli.trees.newick import parse_newick

COMMANDS = ["build", "evaluate", "cut", "levels", "info", "show", "render"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_keeps_brackets_shows_no_bool_and_has_examples(command, capfdbinary):
    code, out, _ = l2h_main(capfdbinary, command, "--help")
    text = out.decode()
    assert code == 0
    assert "<bool>" not in text and "Examples:" in text
    assert text.count("\n    l2h ") >= 2  # two or three examples, one a line
    # Typer brackets and repeats arguments itself: metavars must be bare names.
    usage = next(line for line in text.splitlines() if line.startswith("Usage:"))
    assert "[[" not in usage and "...]" not in usage and "...}" not in usage, usage
    if command == "build":
        assert "[logits]" in text and "l2h[dask]" in text and "[TMPDIR]" in text


def test_evaluate_table_fits_80_columns_and_is_plain_in_a_pipe(tmp_path, capfdbinary):
    z = np.random.default_rng(0).normal(size=(300, 6))
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "a_rather_long_name_for_the_fine_labels.npy", np.arange(300) % 4)
    np.save(tmp_path / "y2.npy", np.arange(300) % 2)
    code, _, err = l2h_main(capfdbinary, "build", str(tmp_path / "z.npy"), "-o",
                            str(tmp_path / "t.json"))
    code, out, err = l2h_main(capfdbinary, "evaluate", str(tmp_path / "t.json"),
                              str(tmp_path / "z.npy"), "--labels",
                              str(tmp_path / "a_rather_long_name_for_the_fine_labels.npy"),
                              "--labels", str(tmp_path / "y2.npy"))
    text = out.decode()
    assert code == 0, err
    table = text.splitlines()[1:]
    assert all(len(line) <= 80 for line in table), text
    assert "\x1b[" not in text and "─" not in text  # no colours, no box drawing
    assert "a_rather_long_name_for_the_fine_labels.npy" in text  # nothing cut


def test_a_tree_goes_through_a_pipe_in_every_format(tmp_path):
    np.save(tmp_path / "z.npy", np.random.default_rng(1).normal(size=(200, 7)))
    outs = set()
    for fmt in ("json", "newick", "linkage"):
        cmd = (f"{sys.executable} -m l2h_cli -q build {tmp_path}/z.npy -o - --format {fmt} | "
               f"{sys.executable} -m l2h_cli cut - --k 3")
        proc = subprocess.run(cmd, shell=True, capture_output=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        outs.add(proc.stdout)
    assert len(outs) == 1 and len(outs.pop().split()) == 7


def test_unquoted_names_with_spaces_get_a_hint(tmp_path, capfdbinary):
    (tmp_path / "ete.nwk").write_text("((sea lion:1,cat:1):1,dog:2);")
    (tmp_path / "names.txt").write_text("sea lion\ncat\ndog\n")
    code, _, err = l2h_main(capfdbinary, "cut", str(tmp_path / "ete.nwk"), "--k", "2",
                            "--names", str(tmp_path / "names.txt"))
    assert code == 3 and b"must be quoted" in err, err


@st.composite
def trees(draw):
    """A random binary tree in merge order, with awkward names."""
    k = draw(st.integers(1, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    alive = list(range(k))
    children = []
    for t in range(k - 1):
        a, b = rng.choice(len(alive), 2, replace=False)
        children.append((alive[a], alive[b]))
        alive = [x for i, x in enumerate(alive) if i not in (a, b)] + [k + t]
    names = draw(st.lists(st.text(min_size=1, max_size=8).filter(
        lambda s: s.strip() == s and "\n" not in s and "\r" not in s),
        min_size=k, max_size=k, unique_by=lambda s: s.casefold()))
    return Tree(k, children, np.arange(1, k, dtype=float), names)


@settings(max_examples=60, deadline=None)
@given(trees())
def test_round_trips_of_newick_json_linkage_and_cut(tree):
    back = parse_newick(tree.to_newick(), tree.names)
    assert back.children == tree.children and back.names == tree.names
    back = parse_json_tree(tree.to_json())
    assert back.children == tree.children and back.names == tree.names
    back = Tree.from_linkage(tree.to_linkage(), tree.names)
    assert back.children == tree.children
    for k in range(1, tree.n_leaves + 1):
        groups = tree.cut(k)
        assert groups.max() + 1 == k
        # Groups are numbered by their smallest leaf.
        firsts = [int(np.flatnonzero(groups == g)[0]) for g in range(k)]
        assert firsts == sorted(firsts)


def test_which_row_source_a_build_picks(tmp_path):
    from l2h_cli.engine.build import _make_store
    from l2h_cli.readers import open_logits
    z = np.random.default_rng(2).normal(size=(2000, 50)).astype(np.float32)
    np.save(tmp_path / "z.npy", z)
    np.savez_compressed(tmp_path / "z.npz", logits=z)
    cases = [("z.npy", 2**30, None, False, "memory"), ("z.npy", 2**16, None, False, "source"),
             ("z.npy", 2**16, False, False, "spill"), ("z.npz", 2**16, None, False, "spill"),
             ("z.npy", 2**16, None, True, "spill")]  # a temperature changes the rows
    for name, budget, reread, transform, mode in cases:
        with open_logits(str(tmp_path / name)) as reader, \
                _make_store(reader, transform, budget, None, reread) as store:
            assert store.name == mode, (name, budget, reread, transform)


def test_several_trees_side_by_side_equal_their_single_evaluations(tmp_path, capfdbinary):
    import json
    z = np.random.default_rng(3).normal(scale=2.0, size=(400, 8))
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "y.npy", np.argmax(z, axis=1) % 3)
    l2h_main(capfdbinary, "build", str(tmp_path / "z.npy"), "-o", str(tmp_path / "a.json"),
             "-o", str(tmp_path / "b.npy"))
    l2h_main(capfdbinary, "build", str(tmp_path / "z.npy"), "--aggregate", "min", "-o",
             str(tmp_path / "c.nwk"))
    trees = [str(tmp_path / name) for name in ("a.json", "b.npy", "c.nwk")]
    code, out, err = l2h_main(capfdbinary, "evaluate", trees[0], str(tmp_path / "z.npy"),
                              "--labels", str(tmp_path / "y.npy"), "--tree", trees[1],
                              "--tree", trees[2], "--json", "-")
    assert code == 0, err
    together = json.loads(out)["trees"]
    assert [t["tree"] for t in together] == trees
    for path, entry in zip(trees, together):
        code, out, _ = l2h_main(capfdbinary, "evaluate", path, str(tmp_path / "z.npy"),
                                "--labels", str(tmp_path / "y.npy"), "--json", "-")
        assert json.loads(out)["levels"] == entry["levels"]
    code, out, _ = l2h_main(capfdbinary, "evaluate", trees[0], str(tmp_path / "z.npy"),
                            "--labels", str(tmp_path / "y.npy"), "--tree", trees[2])
    assert all(len(line) <= 80 for line in out.decode().splitlines()[1:])


def test_the_console_script_ends_with_mains_code_and_all_its_output(tmp_path):
    """`python -m l2h_cli` (and the `l2h` script) skip the interpreter's teardown: the exit
    codes must still be main's and every byte written must arrive, past a pipe's buffer."""
    k = 3000
    np.save(tmp_path / "z.npy", np.random.default_rng(2).normal(size=(4 * k, k)).astype(
        np.float32))
    run = [sys.executable, "-m", "l2h_cli"]
    built = subprocess.run([*run, "-q", "build", str(tmp_path / "z.npy"), "-o",
                            str(tmp_path / "t.json")], capture_output=True, timeout=300)
    assert built.returncode == 0, built.stderr
    cut = subprocess.run([*run, "cut", str(tmp_path / "t.json"), "--k", "7", "-o", "-"],
                         capture_output=True, timeout=120)
    assert cut.returncode == 0, cut.stderr
    groups = cut.stdout.split()
    assert len(groups) == k and set(groups) == {str(g).encode() for g in range(7)}
    usage = subprocess.run([*run, "cut", str(tmp_path / "t.json")], capture_output=True,
                           timeout=120)
    assert usage.returncode == 2 and b"--k" in usage.stderr, usage.stderr
    (tmp_path / "bad.npy").write_bytes(b"not an array")
    bad = subprocess.run([*run, "build", str(tmp_path / "bad.npy"), "-o",
                          str(tmp_path / "u.json")], capture_output=True, timeout=120)
    assert bad.returncode == 3 and len(bad.stderr.decode().strip().splitlines()) == 1, \
        bad.stderr
    assert not (tmp_path / "u.json").exists()
