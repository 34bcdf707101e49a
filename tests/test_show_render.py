"""`l2h show` and `l2h render`: text, figures and the offline HTML page, used for real."""

import json
import os
import re
import shutil
import struct

import numpy as np
import pytest

from l2h_cli import Tree, build_hierarchy
from l2h_cli.trees.jsontree import to_json
from helpers import run_l2h

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    d = tmp_path_factory.mktemp("render")
    rng = np.random.default_rng(6)
    y = rng.integers(0, 12, size=600)
    z = rng.normal(size=(600, 12)).astype(np.float32)
    z[np.arange(600), y] += 3
    names = [f"class_{i} ({'ab'[i % 2]})" for i in range(12)]
    tree = build_hierarchy(z, names=names)
    (d / "small.json").write_text(to_json(tree))
    np.save(d / "z.npy", z)
    np.save(d / "y.npy", y)
    (d / "groups.txt").write_text("\n".join(f"group {i % 3}" for i in range(12)) + "\n")
    # A 1000-leaf caterpillar mixed with a random binary tree: deep and wide at once.
    k = 1000
    active, children = list(range(k)), []
    while len(active) > 1:
        a = active.pop(int(rng.integers(len(active))))
        b = active.pop(0 if len(children) % 3 else int(rng.integers(len(active))))
        children.append((a, b))
        active.append(k + len(children) - 1)
    big = Tree(k, children, np.arange(1, k, dtype=float), [f"leaf {i}" for i in range(k)])
    (d / "big.json").write_text(to_json(big))
    (d / "big_groups.txt").write_text("\n".join(f"g{i % 7}" for i in range(k)) + "\n")
    return d, tree, names


def test_show_prints_a_collapsed_tree(trees):
    d, tree, names = trees
    out = run_l2h("show", str(d / "big.json"), "--lines", "30").stdout.decode()
    assert 5 < len(out.strip().splitlines()) <= 30
    assert out.startswith("1000 leaves")
    full = run_l2h("show", str(d / "small.json"), "--lines", "100").stdout.decode()
    for name in names:
        assert name in full
    assert "\x1b[" not in full  # plain text into a pipe


def test_show_with_labels_gives_purity(trees):
    d, *_ = trees
    out = run_l2h("show", str(d / "small.json"), str(d / "z.npy"), "--labels",
                  str(d / "y.npy")).stdout.decode()
    assert "purity" in out and "600 pts" in out


def png_size(path):
    data = open(path, "rb").read(24)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def plotting():
    pytest.importorskip("matplotlib", reason="the [plot] extra is not installed")


@pytest.mark.parametrize("which", ["small", "big"])
def test_render_figures(trees, plotting, which):
    d, tree, names = trees
    svg, png, pdf = (str(d / f"{which}.{ext}") for ext in ("svg", "png", "pdf"))
    proc = run_l2h("render", str(d / f"{which}.json"), "--color-by",
                   str(d / ("groups.txt" if which == "small" else "big_groups.txt")),
                   "-o", svg, "-o", png, "-o", pdf)
    assert proc.returncode == 0, proc.stderr
    text = open(svg).read()
    labels = names if which == "small" else [f"leaf {i}" for i in (0, 500, 999)]
    for label in labels:
        assert f">{label}<" in text.replace("&#39;", "'")
    assert ">group 1<" in text or ">g3<" in text  # the legend
    w, h = png_size(png)
    assert w > 500 and h > 400
    assert open(pdf, "rb").read(5) == b"%PDF-"


def test_render_purity_labels(trees, plotting):
    d, *_ = trees
    svg = str(d / "purity.svg")
    assert run_l2h("render", str(d / "small.json"), str(d / "z.npy"), "--labels",
                   str(d / "y.npy"), "-o", svg, "--layout", "rectangular").returncode == 0
    assert re.search(r"class_0 \(a\) \(\d\.\d\d\)", open(svg).read())


@pytest.mark.parametrize("case", ["not-a-tree", "groups", "extension"])
def test_render_bad_input(trees, case, tmp_path):
    d, *_ = trees
    tree, extra, out, code = str(d / "small.json"), [], str(tmp_path / "t.html"), 3
    if case == "not-a-tree":
        (tmp_path / "x.json").write_text('{"hello": 1}')
        tree = str(tmp_path / "x.json")
    elif case == "groups":
        (tmp_path / "g.txt").write_text("a\nb\n")
        extra = ["--color-by", str(tmp_path / "g.txt")]
    else:
        out, code = str(tmp_path / "t.gif"), 2
    proc = run_l2h("render", tree, "-o", out, *extra)
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr.decode()
    assert os.listdir(tmp_path) in ([], ["x.json"], ["g.txt"])


def test_html_is_self_contained(trees):
    d, *_ = trees
    out = str(d / "big.html")
    assert run_l2h("render", str(d / "big.json"), "-o", out, "--color-by",
                   str(d / "big_groups.txt")).returncode == 0
    text = open(out).read()
    assert "<script" in text and "leaf 999" in text
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", text)
    assert "//cdn" not in text and "@import" not in text


# ---- the page in a real browser -----------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def open_page(browser, path):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("file://" + path)
    page.wait_for_selector("text.leaf, text.collapsed")
    return page, errors


@pytest.mark.parametrize("which", ["small", "big"])
def test_page_renders_searches_and_collapses(trees, browser, which):
    d, *_ = trees
    path = str(d / f"{which}_page.html")
    assert run_l2h("render", str(d / f"{which}.json"), "-o", path).returncode == 0
    page, errors = open_page(browser, path)
    assert page.locator("text.leaf, text.collapsed").count() > 0
    assert page.locator("path.link").count() > 0

    # Search finds a leaf, opens its ancestors and highlights the path to the root.
    target = "class_7 (b)" if which == "small" else "leaf 777"
    page.fill("#search", target)
    hit = page.locator("text.leaf.hit")
    assert hit.count() == 1 and hit.first.get_attribute("data-name") == target
    assert page.locator("path.link.path").count() >= 1
    assert page.locator("#count").inner_text() == "1 match"

    # Clicking the hit's parent node collapses it: its leaves disappear.
    page.fill("#search", "")
    page.click("#open-all")
    leaf_id = int(page.evaluate(
        f"window.l2hTree.nodes.find(n => n.name === {target!r}).id"))
    parent = int(page.evaluate(
        f"window.l2hTree.nodes.find(n => n.c.includes({leaf_id})).id"))
    before = page.locator("text.leaf").count()
    page.locator(f"circle.node[data-id='{parent}']").dispatch_event("click")
    assert page.locator(f"text.leaf[data-id='{leaf_id}']").count() == 0
    assert page.locator(f"text.collapsed[data-id='{parent}']").count() == 1
    assert page.locator("text.leaf").count() < before
    page.locator(f"circle.node[data-id='{parent}']").dispatch_event("click")
    assert page.locator(f"text.leaf[data-id='{leaf_id}']").count() == 1
    assert errors == []
    page.close()


def test_page_with_hostile_names_renders_them_as_text(browser, tmp_path):
    names = ["<!--", "<script>alert(1)</script>", "__DATA__", "a & b", "</script><b>x"]
    np.save(tmp_path / "z.npy", np.random.default_rng(0).normal(size=(100, 5)))
    (tmp_path / "names.txt").write_text("\n".join(names) + "\n")
    proc = run_l2h("build", str(tmp_path / "z.npy"), "--names", str(tmp_path / "names.txt"),
                   "-o", str(tmp_path / "t.json"))
    assert proc.returncode == 0, proc.stderr
    path = str(tmp_path / "page.html")
    proc = run_l2h("render", str(tmp_path / "t.json"), "-o", path, "--title", "__DATA__ <!--")
    assert proc.returncode == 0, proc.stderr
    page, errors = open_page(browser, path)
    shown = page.evaluate("Array.from(document.querySelectorAll('text.leaf'))"
                          ".map(t => t.getAttribute('data-name'))")
    assert sorted(shown) == sorted(names)
    assert page.title() == "__DATA__ <!--"
    assert errors == []
    page.close()


def test_hover_and_show_give_merge_strength(browser, tmp_path):
    np.save(tmp_path / "z.npy", np.random.default_rng(5).normal(size=(300, 6)))
    assert run_l2h("build", str(tmp_path / "z.npy"), "-o", str(tmp_path / "t.json")
                   ).returncode == 0
    shown = run_l2h("show", str(tmp_path / "t.json"))
    assert b"strength" in shown.stdout
    path = str(tmp_path / "page.html")
    assert run_l2h("render", str(tmp_path / "t.json"), "-o", path).returncode == 0
    page, errors = open_page(browser, path)
    root = json.loads((tmp_path / "t.json").read_text())["merges"][-2]
    page.locator(f"circle.node[data-id='{root['node']}']").dispatch_event("mouseover")
    tip = page.locator("#tip").inner_text()
    assert f"merge strength: {root['strength']:.3f}" in tip and "margins:" in tip
    assert errors == []
    page.close()
