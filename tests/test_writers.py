"""Newick, JSON and linkage outputs parse in the tools users have, at any depth."""

import io
import json

import dendropy
import numpy as np
import pytest
from Bio import Phylo
from scipy.cluster.hierarchy import is_valid_linkage

from l2h_cli import Tree, build_hierarchy
from l2h_cli.trees.jsontree import parse_json_tree, to_json
from l2h_cli.trees.newick import parse_newick, quote_label, to_newick
from l2h_cli.trees.treeio import unique_names

ODD_NAMES = ["O'Brien's (cat)", "a,b:c;d", "snake_case", "plain", "two words", "[x]", "ümlaut",
             "tab\there"]


@pytest.fixture
def tree():
    z = np.random.default_rng(2).normal(size=(400, len(ODD_NAMES)))
    return build_hierarchy(z, names=ODD_NAMES)


def chain(k):
    return Tree(k, [(0, 1)] + [(k + t - 1, t + 1) for t in range(1, k - 1)],
                np.arange(1, k, dtype=float))


def test_newick_parses_in_dendropy_strict_with_odd_names(tree):
    text = to_newick(tree)
    parsed = dendropy.Tree.get(data=text, schema="newick", rooting="force-rooted",
                               case_sensitive_taxon_labels=True,
                               preserve_underscores=True)
    assert sorted(t.label for t in parsed.taxon_namespace) == sorted(ODD_NAMES)
    assert len(parsed.leaf_nodes()) == len(ODD_NAMES)


def test_newick_round_trips_through_biopython(tree):
    parsed = Phylo.read(io.StringIO(to_newick(tree)), "newick")
    assert sorted(c.name for c in parsed.get_terminals()) == sorted(ODD_NAMES)
    # Distances are parent height minus child height, so every leaf is at the root height.
    depths = parsed.depths()
    for leaf in parsed.get_terminals():
        assert depths[leaf] == pytest.approx(tree.heights[-1])


def test_newick_round_trips_through_our_reader(tree):
    back = parse_newick(to_newick(tree), names=ODD_NAMES)
    assert back.children == tree.children
    assert np.array_equal(back.heights, tree.heights)


def test_quoting_rules():
    assert quote_label("abc") == "abc"
    assert quote_label("a_b") == "'a_b'"
    assert quote_label("it's") == "'it''s'"
    assert quote_label("") == "''"


def test_deep_chain_writes_and_reads_without_recursion():
    t = chain(5000)
    text = to_newick(t)
    assert text.count("(") == 4999
    assert parse_newick(text).children == t.children
    back = parse_json_tree(to_json(t))
    assert back.children == t.children


def test_linkage_is_valid_for_scipy(tree):
    z = tree.to_linkage()
    assert z.dtype == np.float64
    assert is_valid_linkage(z, throw=True)
    assert Tree.from_linkage(z).children == tree.children


def test_json_has_spec_fields_and_nested_tree(tree):
    data = json.loads(to_json(tree))
    k = len(ODD_NAMES)
    assert data["format"] == "l2h-tree" and data["n_leaves"] == k
    assert [leaf["name"] for leaf in data["leaves"]] == ODD_NAMES
    assert sum(leaf["size"] for leaf in data["leaves"]) == 400
    assert len(data["merges"]) == k - 1
    for t, m in enumerate(data["merges"]):
        assert m["node"] == k + t and m["height"] == t + 1
        assert m["low"] == tree.leaves_of(tree.children[t][0])
        assert m["best"] == tree.leaves_of(tree.children[t][1])
    # The nested tree: every leaf once, children as d3-hierarchy expects.
    seen, stack = [], [data["tree"]]
    while stack:
        node = stack.pop()
        if "children" in node:
            assert len(node["children"]) == 2
            stack.extend(node["children"])
        else:
            seen.append(node["id"])
    assert sorted(seen) == list(range(k))
    assert data["tree"]["id"] == 2 * k - 2


def test_duplicate_names_get_suffixes():
    with pytest.warns(UserWarning, match="duplicate"):
        out = unique_names(["crane", "maillot", "crane", "Maillot", "crane (2)"])
    assert out == ["crane", "maillot", "crane (2)", "Maillot (2)", "crane (2) (2)"]
    assert len({n.casefold() for n in out}) == len(out)
