"""`l2h render` to a single self-contained .html page: no network, no CDN, everything inline.

The tree travels as JSON (flat node table, no nesting) and is drawn as SVG by the script
below: click a node to collapse or open it, wheel to zoom, drag to pan, type to search (the
path to each match is highlighted and opened), hover for details.
"""

from __future__ import annotations

import html
import json
import re
from typing import Sequence

import numpy as np

from .layout import node_stats, subtree_colors
from .render_plot import group_colors
from ..trees.tree import Tree


def _num(v: float | None, digits: int = 4) -> float | None:
    return None if v is None or not np.isfinite(v) else round(float(v), digits)


def page(tree: Tree, title: str, groups: Sequence[str] | None = None,
         label_counts: np.ndarray | None = None, classes: Sequence[str] | None = None) -> str:
    k = tree.n_leaves
    stats = node_stats(tree, label_counts)
    colors, legend = group_colors(groups) if groups is not None else ([None] * k, {})
    # A subtree whose leaves all share a group carries that group's colour.
    node_color = subtree_colors(tree, colors)
    nodes = []
    for v in range(tree.n_nodes):
        node = {"id": v, "name": tree.names[v] if v < k else f"n{v}",
                "h": float(tree.heights[v - k]) if v >= k else 0.0,
                "c": list(tree.children[v - k]) if v >= k else [],
                "n": int(stats.n_leaves[v])}
        if stats.points is not None:
            node["size"] = int(stats.points[v])
        if stats.confidence is not None:
            node["conf"] = _num(stats.confidence[v])
        if stats.purity is not None:
            node["purity"] = _num(stats.purity[v])
            if classes is not None:
                node["major"] = str(classes[int(stats.majority[v])])
        if v >= k:
            for key in ("strength", "runner_up_share", "margin_low", "margin_best"):
                if key in tree.merge_stats:
                    # Margins matter down to 1e-9: keep their small values.
                    node[key] = _num(tree.merge_stats[key][v - k],
                                     15 if key.startswith("margin") else 4)
        if v < k and groups is not None:
            node["group"] = str(groups[v])
        if node_color[v]:
            node["color"] = node_color[v]
        nodes.append(node)
    data = {"root": tree.root, "nodes": nodes, "legend": legend, "title": title}
    # No "<" may reach the <script> element ("</script>", "<!--" and "<script" all change
    # how the browser reads it); JSON's \u003c escape keeps the text the same.
    payload = (json.dumps(data, separators=(",", ":"), allow_nan=False)
               .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
    fills = {"__TITLE__": html.escape(title), "__DATA__": payload}
    # One pass, so a title or name that contains a placeholder is not filled in again.
    return re.sub("__TITLE__|__DATA__", lambda m: fills[m.group()], _TEMPLATE)


_TEMPLATE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
html, body { margin: 0; height: 100%; font: 13px system-ui, sans-serif; color: #222; }
header { position: fixed; top: 0; left: 0; right: 0; padding: 6px 10px; background: #f6f6f6;
  border-bottom: 1px solid #ddd; display: flex; gap: 8px; align-items: center; flex-wrap: wrap;
  z-index: 2; }
header input { width: 220px; padding: 3px 6px; }
#legend span { display: inline-block; margin-right: 8px; white-space: nowrap; }
#legend i { display: inline-block; width: 10px; height: 10px; margin-right: 3px;
  vertical-align: middle; }
svg { position: absolute; top: 0; left: 0; width: 100%; height: 100%; cursor: grab; }
.link { fill: none; stroke: #888; stroke-width: 1px; vector-effect: non-scaling-stroke; }
.link.path { stroke: #d62728; stroke-width: 2.5px; }
.node { fill: #fff; stroke: #555; stroke-width: 1px; cursor: pointer;
  vector-effect: non-scaling-stroke; }
.node.closed { fill: #555; }
.leaf, .collapsed { font-size: 11px; dominant-baseline: middle; cursor: default; }
.collapsed { fill: #555; font-style: italic; }
.tri { fill: #ddd; stroke: #999; vector-effect: non-scaling-stroke; cursor: pointer; }
.hit { font-weight: bold; fill: #d62728 !important; }
#tip { position: fixed; pointer-events: none; background: #fffffe; border: 1px solid #bbb;
  padding: 4px 7px; border-radius: 3px; display: none; z-index: 3; white-space: pre; }
</style></head>
<body>
<header>
  <strong id="title"></strong>
  <input id="search" type="search" placeholder="search leaves" autocomplete="off">
  <span id="count"></span>
  <button id="open-all">open all</button>
  <button id="fit">fit</button>
  <span id="legend"></span>
</header>
<svg id="view"><g id="world"></g></svg>
<div id="tip"></div>
<script id="tree-data" type="application/json">__DATA__</script>
<script>
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("tree-data").textContent);
  const nodes = DATA.nodes, root = DATA.root, ROW = 16, WIDTH = 700;
  const parent = new Int32Array(nodes.length).fill(-1);
  nodes.forEach(n => n.c.forEach(c => { parent[c] = n.id; }));
  const maxH = Math.max(1e-9, nodes[root].h);
  const closed = new Set();
  let hits = new Set(), onPath = new Set();
  const svg = document.getElementById("view"), world = document.getElementById("world");
  const tip = document.getElementById("tip");
  let view = { k: 1, x: 20, y: 60 };

  document.getElementById("title").textContent = DATA.title;
  const legend = document.getElementById("legend");
  Object.entries(DATA.legend).forEach(([g, c]) => {
    const s = document.createElement("span");
    s.innerHTML = '<i style="background:' + c + '"></i>';
    s.appendChild(document.createTextNode(g));
    legend.appendChild(s);
  });

  // Start readable: open the biggest nodes first while at most ~150 rows show.
  function initialClose() {
    const frontier = [root]; let rows = 1; const open = new Set();
    while (frontier.length) {
      frontier.sort((a, b) => nodes[b].n - nodes[a].n);
      const v = frontier.shift(); const kids = nodes[v].c;
      if (!kids.length) continue;
      if (rows + kids.length - 1 > 150) break;
      open.add(v); rows += kids.length - 1;
      kids.forEach(c => frontier.push(c));
    }
    nodes.forEach(n => { if (n.c.length && !open.has(n.id)) closed.add(n.id); });
  }

  function leavesOf(v) {
    const out = [], stack = [v];
    while (stack.length) {
      const u = stack.pop();
      if (!nodes[u].c.length) out.push(u); else for (let i = nodes[u].c.length - 1; i >= 0; i--) stack.push(nodes[u].c[i]);
    }
    return out;
  }

  function esc(s) { return String(s).replace(/[&<>"]/g, ch => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[ch])); }

  function draw() {
    // Rows for visible leaves and closed nodes, in depth-first order.
    const pos = new Map(); let row = 0; const order = [], stack = [[root, false]];
    while (stack.length) {
      const [v, done] = stack.pop(); const n = nodes[v];
      if (!n.c.length || closed.has(v)) { pos.set(v, { x: WIDTH * (1 - n.h / maxH), y: row * ROW }); row++; continue; }
      if (done) {
        const ys = n.c.map(c => pos.get(c).y);
        pos.set(v, { x: WIDTH * (1 - n.h / maxH), y: (Math.min(...ys) + Math.max(...ys)) / 2 });
        order.push(v); continue;
      }
      stack.push([v, true]);
      for (let i = n.c.length - 1; i >= 0; i--) stack.push([n.c[i], false]);
    }
    const parts = [];
    order.forEach(v => {
      const p = pos.get(v);
      nodes[v].c.forEach(c => {
        const q = pos.get(c);
        const cls = onPath.has(c) ? "link path" : "link";
        parts.push('<path class="' + cls + '" d="M' + p.x + "," + p.y + "V" + q.y + "H" + q.x + '"/>');
      });
    });
    pos.forEach((p, v) => {
      const n = nodes[v];
      if (!n.c.length) {
        const color = n.color ? ' style="fill:' + n.color + '"' : "";
        const cls = hits.has(v) ? "leaf hit" : "leaf";
        parts.push('<text class="' + cls + '" data-id="' + v + '" data-name="' + esc(n.name) + '" x="' + (p.x + 6) + '" y="' + p.y + '"' + color + ">" + esc(n.name) + "</text>");
      } else if (closed.has(v)) {
        const fill = n.color ? ' style="fill:' + n.color + ';fill-opacity:0.45"' : "";
        parts.push('<path class="tri"' + fill + ' data-id="' + v + '" d="M' + p.x + "," + p.y + "L" + WIDTH + "," + (p.y - 6) + "V" + (p.y + 6) + 'Z"/>');
        const first = leavesOf(v).slice(0, 3).map(u => nodes[u].name).join(", ");
        parts.push('<text class="collapsed" data-id="' + v + '" x="' + (WIDTH + 6) + '" y="' + p.y + '">' + n.n + " leaves: " + esc(first) + (n.n > 3 ? ", ..." : "") + "</text>");
      }
      if (n.c.length) parts.push('<circle class="node' + (closed.has(v) ? " closed" : "") + '" data-id="' + v + '" cx="' + p.x + '" cy="' + p.y + '" r="4"/>');
    });
    world.innerHTML = parts.join("");
    world.setAttribute("transform", "translate(" + view.x + "," + view.y + ") scale(" + view.k + ")");
    world.dataset.rows = row;
  }

  function setView() { world.setAttribute("transform", "translate(" + view.x + "," + view.y + ") scale(" + view.k + ")"); }

  function top() { return document.querySelector("header").offsetHeight + 14; }

  // Fit the width; rows never shrink below legible size (pan or wheel for the rest).
  function fit() {
    const rows = +world.dataset.rows || 1;
    const h = svg.clientHeight - top() - 10, w = svg.clientWidth - 40;
    view.k = Math.max(0.7, Math.min(1.5, h / (rows * ROW), w / (WIDTH + 300)));
    view.x = 20; view.y = top(); setView();
  }

  function showNode(v) {
    const el = world.querySelector('[data-id="' + v + '"]');
    if (!el) return;
    const y = +el.getAttribute("y");
    view.y = Math.min(top(), svg.clientHeight / 2 - y * view.k); setView();
  }

  svg.addEventListener("click", e => {
    const id = e.target.dataset ? e.target.dataset.id : undefined;
    if (id === undefined || !nodes[+id].c.length) return;
    const v = +id;
    if (closed.has(v)) closed.delete(v); else closed.add(v);
    draw();
  });
  svg.addEventListener("wheel", e => {
    e.preventDefault();
    const f = Math.exp(-e.deltaY * 0.0015), r = svg.getBoundingClientRect();
    const mx = e.clientX - r.left, my = e.clientY - r.top;
    view.x = mx - (mx - view.x) * f; view.y = my - (my - view.y) * f; view.k *= f; setView();
  }, { passive: false });
  let drag = null;
  svg.addEventListener("mousedown", e => { drag = { x: e.clientX - view.x, y: e.clientY - view.y }; svg.style.cursor = "grabbing"; });
  window.addEventListener("mouseup", () => { drag = null; svg.style.cursor = "grab"; });
  window.addEventListener("mousemove", e => {
    if (drag) { view.x = e.clientX - drag.x; view.y = e.clientY - drag.y; setView(); }
  });
  svg.addEventListener("mouseover", e => {
    const id = e.target.dataset ? e.target.dataset.id : undefined;
    if (id === undefined) return;
    const n = nodes[+id], lines = [n.c.length ? n.n + " leaves (node " + n.id + ")" : n.name];
    if (n.size !== undefined) lines.push("points: " + n.size);
    if (n.conf !== undefined && n.conf !== null) lines.push("mean confidence: " + n.conf.toFixed(3));
    if (n.purity !== undefined && n.purity !== null) lines.push("purity: " + n.purity.toFixed(3) + (n.major ? " (" + n.major + ")" : ""));
    if (n.group !== undefined) lines.push("group: " + n.group);
    if (n.strength !== undefined && n.strength !== null) lines.push("merge strength: " + n.strength.toFixed(3) + " of the reassigned mass" + (n.runner_up_share !== undefined && n.runner_up_share !== null ? " (runner-up " + n.runner_up_share.toFixed(3) + ")" : ""));
    if (n.margin_low !== undefined && n.margin_low !== null) lines.push("margins: lowest score " + n.margin_low.toExponential(2) + (n.margin_best !== null && n.margin_best !== undefined ? ", best relation " + n.margin_best.toExponential(2) : ""));
    if (n.c.length) lines.push("height: " + n.h + (closed.has(n.id) ? "  (click to open)" : "  (click to collapse)"));
    tip.textContent = lines.join("\n"); tip.style.display = "block";
    tip.style.left = (e.clientX + 12) + "px"; tip.style.top = (e.clientY + 12) + "px";
  });
  svg.addEventListener("mouseout", () => { tip.style.display = "none"; });

  document.getElementById("search").addEventListener("input", e => {
    const q = e.target.value.trim().toLowerCase();
    hits = new Set(); onPath = new Set();
    if (q) nodes.forEach(n => { if (!n.c.length && n.name.toLowerCase().includes(q)) hits.add(n.id); });
    hits.forEach(v => { let u = v; while (u >= 0) { onPath.add(u); if (parent[u] >= 0) closed.delete(parent[u]); u = parent[u]; } });
    document.getElementById("count").textContent = q ? hits.size + " match" + (hits.size === 1 ? "" : "es") : "";
    draw();
    if (hits.size) showNode(hits.values().next().value);
  });
  document.getElementById("open-all").addEventListener("click", () => { closed.clear(); draw(); fit(); });
  document.getElementById("fit").addEventListener("click", fit);

  initialClose(); draw(); fit();
  window.l2hTree = { nodes, closed, draw };
})();
</script>
</body></html>
"""
