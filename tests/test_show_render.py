"""`l2h show` and `l2h render`: text, figures and the offline HTML page, used for real."""

import html
import json
import os
import re
import shutil
import struct

import numpy as np
import pytest

from l2h_cli import Tree, build_hierarchy
from l2h_cli.trees.jsontree import to_json
from l2h_cli.views.palette import group_colors
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


def test_show_stays_linear_on_a_deep_chain(tmp_path):
    """A 20,000-deep caterpillar: --depth opens a line pair per level, and indentation stops
    growing (the depth is printed instead), so lines stay within a screen."""
    k = 20_000
    children = [(0, 1)] + [(k + t - 1, t + 1) for t in range(1, k - 1)]
    Tree(k, children, np.arange(1, k, dtype=float)).save(str(tmp_path / "chain.json"))
    out = run_l2h("show", str(tmp_path / "chain.json"), "--depth", "3000").stdout.decode()
    lines = out.splitlines()
    assert len(lines) == 2 * 3000 + 1
    assert max(len(line) for line in lines) < 120
    assert lines[-1].startswith("└── ") and lines[1000].startswith("[1000] ")


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


def svg_texts(path):
    """(font size in points, text) of every text element matplotlib wrote."""
    found = re.findall(r'<text style="font-size: ([\d.]+)px[^>]*>([^<]*)</text>', open(path).read())
    return [(float(size), html.unescape(text)) for size, text in found]


@pytest.mark.parametrize("which", ["small", "big"])
def test_render_figures(trees, plotting, which):
    d, tree, names = trees
    svg, png, pdf = (str(d / f"{which}.{ext}") for ext in ("svg", "png", "pdf"))
    proc = run_l2h("render", str(d / f"{which}.json"), "--color-by",
                   str(d / ("groups.txt" if which == "small" else "big_groups.txt")),
                   "-o", svg, "-o", png, "-o", pdf)
    assert proc.returncode == 0, proc.stderr
    texts = svg_texts(svg)
    shown = [t for _, t in texts]
    assert "group 1" in shown or "g3" in shown  # the legend
    assert min(size for size, _ in texts) >= 6
    if which == "small":
        assert set(names) <= set(shown)
    else:
        # Cut to 100 tips by default; the tips hold every leaf once.
        tips = [t for t in shown if re.fullmatch(r"leaf \d+|[\d,]+ leaves: .*", t)]
        assert len(tips) == 100
        covered = sum(int(t.split(" ")[0].replace(",", "")) if "leaves:" in t else 1
                      for t in tips)
        assert covered == 1000
        assert any("100 tips for 1,000 leaves" in t for t in shown)
    w, h = png_size(png)
    assert w > 500 and h > 400
    assert open(pdf, "rb").read(5) == b"%PDF-"


def test_render_all_leaves_leaves_out_illegible_names(trees, plotting):
    d, *_ = trees
    svg = str(d / "all.svg")
    assert run_l2h("render", str(d / "big.json"), "-o", svg, "--max-leaves", "all"
                   ).returncode == 0
    shown = [t for _, t in svg_texts(svg)]
    assert not any(t.startswith("leaf ") for t in shown)
    assert any("Names left out" in t for t in shown)
    rect = str(d / "all_rect.svg")
    assert run_l2h("render", str(d / "big.json"), "-o", rect, "--max-leaves", "all",
                   "--layout", "rectangular").returncode == 0
    texts = svg_texts(rect)
    assert sum(t.startswith("leaf ") for _, t in texts) == 1000
    assert min(size for size, _ in texts) >= 6
    bad = run_l2h("render", str(d / "big.json"), "-o", str(d / "x.svg"), "--max-leaves", "1")
    assert bad.returncode == 2 and b"--max-leaves" in bad.stderr


@pytest.mark.parametrize("n_groups", [7, 20, 60, 150])
def test_group_colours_stay_distinct(n_groups):
    rng = np.random.default_rng(n_groups)
    z = rng.normal(size=(3000, 300)).astype(np.float32)
    tree = build_hierarchy(z)
    groups = [f"g{i % n_groups}" for i in range(300)]
    colors, legend = group_colors(tree, groups)
    # The legend lists groups as the tree's leaf order meets them.
    assert list(legend) == list(dict.fromkeys(groups[v] for v in tree.leaves_of(tree.root)))
    assert len(set(legend.values())) == n_groups
    assert all(colors[i] == legend[g] for i, g in enumerate(groups))


def test_render_purity_labels(trees, plotting):
    d, *_ = trees
    svg = str(d / "purity.svg")
    assert run_l2h("render", str(d / "small.json"), str(d / "z.npy"), "--labels",
                   str(d / "y.npy"), "-o", svg, "--layout", "rectangular").returncode == 0
    shown = [t for _, t in svg_texts(svg)]
    assert any(re.fullmatch(r"class_0 \(a\) \(\d\.\d\d\)", t) for t in shown)
    assert any(t.startswith("(0.90) after a leaf: its purity") for t in shown)  # the key


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
    page.wait_for_function("window.l2hTree && window.l2hTree.firstDraw !== null")
    return page, errors


def settled(page):
    """After the frame the page has asked for: the labels in view are up to date."""
    page.evaluate("new Promise(done => requestAnimationFrame(() => done()))")
    return page


def click_node(page, node):
    xy = page.evaluate(f"l2hTree.screenOf({node})")
    page.mouse.click(xy["x"], xy["y"])
    settled(page)


@pytest.mark.parametrize("which", ["small", "big"])
def test_page_renders_searches_and_collapses(trees, browser, which):
    d, *_ = trees
    path = str(d / f"{which}_page.html")
    assert run_l2h("render", str(d / f"{which}.json"), "-o", path).returncode == 0
    page, errors = open_page(browser, path)
    assert settled(page).locator(".tip").count() > 0

    # Search finds a leaf, opens its ancestors and marks the path to the root.
    target = "class_7 (b)" if which == "small" else "leaf 777"
    settled(page).fill("#search", target)
    hit = settled(page).locator(".tip.leaf.hit")
    assert hit.count() == 1 and hit.first.get_attribute("data-name") == target
    assert hit.first.inner_text() == target
    leaf_id = int(hit.first.get_attribute("data-id"))
    root = json.loads((d / f"{which}.json").read_text())["merges"][-1]["node"]
    assert page.evaluate(f"l2hTree.onPath({root}) && l2hTree.onPath({leaf_id})")
    assert page.locator("#count").inner_text() == "1 match"

    # Clicking the leaf's parent collapses it: its leaves give way to one row.
    parent = page.evaluate(f"l2hTree.parentOf({leaf_id})")
    n_under = len(page.evaluate(f"l2hTree.childrenOf({parent})"))
    rows = page.evaluate("l2hTree.rows")
    click_node(page, parent)
    assert not page.evaluate(f"l2hTree.isOpen({parent})")
    assert page.evaluate("l2hTree.rows") == rows - n_under + 1
    assert page.locator(f".tip.leaf[data-id='{leaf_id}']").count() == 0
    assert page.locator(f".tip.collapsed[data-id='{parent}']").count() == 1
    click_node(page, parent)
    assert page.evaluate(f"l2hTree.isOpen({parent})")
    assert page.locator(f".tip.leaf[data-id='{leaf_id}']").count() == 1
    assert errors == []
    page.close()


def test_page_at_21843_leaves_stays_light(browser, tmp_path):
    """Every leaf opened, the DOM still holds only the labels in view; search still finds a
    leaf and opens its path; the legend of many groups starts closed."""
    k = 21_843
    rng = np.random.default_rng(3)
    active, children = list(range(k)), []
    while len(active) > 1:
        i, j = sorted(rng.choice(len(active), 2, replace=False), reverse=True)
        children.append((active.pop(i), active.pop(j)))
        active.append(k + len(children) - 1)
    tree = Tree(k, children, np.arange(1, k, dtype=float), [f"taxon {i}" for i in range(k)])
    tree.save(str(tmp_path / "t.json"))
    (tmp_path / "g.txt").write_text("".join(f"genus {i // 809}\n" for i in range(k)))
    path = str(tmp_path / "t.html")
    assert run_l2h("render", str(tmp_path / "t.json"), "--color-by", str(tmp_path / "g.txt"),
                   "-o", path).returncode == 0
    page, errors = open_page(browser, path)
    assert page.evaluate("l2hTree.rows") <= 60
    assert not page.evaluate("document.getElementById('legend').open")
    page.click("#legend summary")
    assert page.evaluate("document.getElementById('legend').open")
    page.click("#open-all")
    assert page.evaluate("l2hTree.rows") == k
    assert page.evaluate("document.getElementsByTagName('*').length") < 300
    page.fill("#search", "taxon 12345")
    assert page.locator("#count").inner_text() == "1 match"
    hit = settled(page).locator(".tip.leaf.hit")
    assert hit.count() == 1 and hit.first.inner_text() == "taxon 12345"
    assert page.evaluate("document.getElementsByTagName('*').length") < 300
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
    shown = settled(page).evaluate("Array.from(document.querySelectorAll('.tip.leaf'))"
                          ".map(t => t.textContent)")
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
    node = json.loads((tmp_path / "t.json").read_text())["merges"][-2]
    xy = page.evaluate(f"l2hTree.screenOf({node['node']})")
    page.mouse.move(xy["x"], xy["y"])
    tip = page.locator("#tip").inner_text()
    assert f"merge strength: {node['strength']:.3f}" in tip and "margins:" in tip
    assert f"(node {node['node']})" in tip
    assert errors == []
    page.close()
