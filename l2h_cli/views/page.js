// The tree page: a canvas for the drawing, and DOM text only for the labels in view, so a
// tree of 21,843 leaves opened in full stays a few hundred elements and redraws per frame.
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("tree-data").textContent);
  const K = D.k, N = D.names.length, root = D.root;
  const kidStart = D.kid_start, kids = D.kids, heights = D.heights;
  const isLeaf = v => v < K;
  const childrenOf = v => kids.slice(kidStart[v - K], kidStart[v - K + 1]);
  const parent = new Int32Array(N).fill(-1), nLeaves = new Int32Array(N).fill(1);
  for (let v = K; v < N; v++) {
    let n = 0;
    for (let i = kidStart[v - K]; i < kidStart[v - K + 1]; i++) { parent[kids[i]] = v; n += nLeaves[kids[i]]; }
    nLeaves[v] = n;
  }
  const height = v => (isLeaf(v) ? 0 : heights[v - K]);
  const groupColor = D.groups.map(g => g[1]);
  const colorOf = v => (D.color[v] >= 0 ? groupColor[D.color[v]] : null);

  const opened = new Uint8Array(N);
  const openFirst = () => { opened.fill(0); D.open.forEach(v => { opened[v] = 1; }); };
  openFirst();
  let hits = [], hitSet = new Set(), hitAt = 0, onPath = new Uint8Array(N);
  let axis = "order";

  // ---- layout: a row per tip (leaf or closed node), parents midway between their ends ----
  let tips = [], inner = [], rowY = new Float64Array(N), xPos = new Float64Array(N);
  function layout() {
    tips = []; inner = []; rowY.fill(NaN);
    const stack = [[root, false]];
    while (stack.length) {
      const [v, done] = stack.pop();
      if (isLeaf(v) || !opened[v]) { rowY[v] = tips.length; tips.push(v); continue; }
      if (done) {
        const s = kidStart[v - K], e = kidStart[v - K + 1] - 1;
        rowY[v] = (rowY[kids[s]] + rowY[kids[e]]) / 2; inner.push(v); continue;
      }
      stack.push([v, true]);
      for (let i = kidStart[v - K + 1] - 1; i >= kidStart[v - K]; i--) stack.push([kids[i], false]);
    }
    // x in [0, 1]: the root at 0, the open merges by their order (or height), tips at 1.
    const byHeight = inner.slice().sort((a, b) => height(b) - height(a));
    const top = height(root), low = byHeight.length ? height(byHeight[byHeight.length - 1]) : top;
    byHeight.forEach((v, i) => {
      xPos[v] = axis === "order" ? (byHeight.length > 1 ? 0.97 * i / (byHeight.length - 1) : 0)
        : 0.97 * (top - height(v)) / Math.max(top - low, 1e-12);
    });
    tips.forEach(v => { xPos[v] = 1; });
  }

  // ---- view: rows scroll and zoom; the width always fits the window ----
  const stage = document.getElementById("stage"), canvas = document.getElementById("view");
  const ctx = canvas.getContext("2d"), labels = document.getElementById("labels");
  const tipBox = document.getElementById("tip"), status = document.getElementById("status");
  let W = 0, H = 0, rowPx = 16, y0 = 12, drawn = [], pending = false;
  const MIN_LABEL_PX = 9;
  // Labels take the right part of the window when they can be read; else the tree takes all.
  const left = 14, labelX = () => (rowPx >= MIN_LABEL_PX ? Math.max(260, W - Math.min(460, 0.42 * W)) : W - 12);
  const triW = 36, treeW = () => labelX() - left - triW - 8;
  const sx = v => left + xPos[v] * treeW(), sy = v => y0 + rowY[v] * rowPx;

  function resize() {
    const r = window.devicePixelRatio || 1;
    W = stage.clientWidth; H = stage.clientHeight;
    canvas.width = W * r; canvas.height = H * r;
    canvas.style.width = W + "px"; canvas.style.height = H + "px";
    ctx.setTransform(r, 0, 0, r, 0, 0);
  }

  function clampView() {
    const rows = tips.length, fitPx = (H - 24) / Math.max(rows, 1);
    rowPx = Math.min(40, Math.max(rowPx, Math.min(fitPx, MIN_LABEL_PX + 5)));
    const total = rows * rowPx;
    if (total + 24 <= H) y0 = Math.min(Math.max(y0, 12), H - 12 - total + rowPx);
    else y0 = Math.min(12 + rowPx / 2, Math.max(y0, H - 12 - total + rowPx / 2));
  }

  function request() { if (!pending) { pending = true; requestAnimationFrame(draw); } }

  // A collapsed subtree is labelled with its leaves that hold the most points (as `show`
  // and the figures do), or its first leaves when sizes are unknown.
  const labelCache = new Map();
  function label(v) {
    if (isLeaf(v)) return D.names[v];
    if (labelCache.has(v)) return labelCache.get(v);
    const leaves = [], stack = [v];
    while (stack.length && (D.size || leaves.length < 3)) {
      const u = stack.pop();
      if (isLeaf(u)) leaves.push(u);
      else for (let i = kidStart[u - K + 1] - 1; i >= kidStart[u - K]; i--) stack.push(kids[i]);
    }
    if (D.size) leaves.sort((a, b) => D.size[b] - D.size[a]);
    const text = nLeaves[v] + " leaves: " + leaves.slice(0, 3).map(u => D.names[u]).join(", ") + (nLeaves[v] > 3 ? ", ..." : "");
    labelCache.set(v, text);
    return text;
  }

  function draw() {
    pending = false;
    clampView();
    ctx.clearRect(0, 0, W, H);
    const r0 = Math.max(0, Math.floor((-y0) / rowPx) - 1), r1 = Math.min(tips.length - 1, Math.ceil((H - y0) / rowPx) + 1);
    drawn = [];
    const paths = new Map(), pathOf = c => { if (!paths.has(c)) paths.set(c, new Path2D()); return paths.get(c); };
    const red = new Path2D();
    for (const v of inner) {
      const s = kidStart[v - K], e = kidStart[v - K + 1] - 1;
      const ya = sy(kids[s]), yb = sy(kids[e]);
      if (yb < -2 || ya > H + 2) continue;
      const x = sx(v), p = pathOf(colorOf(v) || "#888");
      p.moveTo(x, Math.max(ya, -2)); p.lineTo(x, Math.min(yb, H + 2));
      for (let i = s; i <= e; i++) {
        const c = kids[i], y = sy(c);
        if (y < -2 || y > H + 2) continue;
        const q = onPath[c] ? red : pathOf(colorOf(c) || "#888");
        q.moveTo(x, y); q.lineTo(sx(c), y);
        if (onPath[c]) { red.moveTo(x, y); red.lineTo(x, sy(v)); }
      }
      if (sy(v) >= 0 && sy(v) <= H) drawn.push([x, sy(v), v]);
    }
    ctx.lineWidth = 1;
    paths.forEach((p, c) => { ctx.strokeStyle = c; ctx.stroke(p); });
    ctx.strokeStyle = "#d62728"; ctx.lineWidth = 2.5; ctx.stroke(red);
    const half = Math.max(0.5, Math.min(7, rowPx * 0.4)), xt = labelX() - triW - 4;
    for (let r = r0; r <= r1; r++) {
      const v = tips[r], y = sy(v), c = colorOf(v);
      if (!isLeaf(v)) {
        ctx.beginPath(); ctx.moveTo(xt, y); ctx.lineTo(xt + triW * (0.35 + 0.65 * Math.log(nLeaves[v]) / Math.log(Math.max(K, 2))), y - half);
        ctx.lineTo(xt + triW * (0.35 + 0.65 * Math.log(nLeaves[v]) / Math.log(Math.max(K, 2))), y + half); ctx.closePath();
        ctx.fillStyle = c || "#c8c8c8"; ctx.globalAlpha = c ? 0.6 : 1; ctx.fill(); ctx.globalAlpha = 1;
      }
      ctx.beginPath(); ctx.moveTo(sx(v) - 1, y); ctx.lineTo(xt, y);
      ctx.strokeStyle = c || "#bbb"; ctx.lineWidth = Math.min(1, rowPx); ctx.stroke();
      if (hitSet.has(v)) { ctx.fillStyle = "#d62728"; ctx.fillRect(xt - 3, y - 3, 6, 6); }
      drawn.push([xt, y, v]);
    }
    if (rowPx >= 4) {
      for (const [x, y, v] of drawn) {
        if (isLeaf(v)) continue;
        ctx.beginPath(); ctx.arc(x, y, 3, 0, 2 * Math.PI);
        ctx.fillStyle = opened[v] ? "#fff" : "#555"; ctx.fill();
        ctx.strokeStyle = "#555"; ctx.lineWidth = 1; ctx.stroke();
      }
    }
    // Labels: DOM text, only for the rows in view, only when they can be read.
    const frag = document.createDocumentFragment();
    if (rowPx >= MIN_LABEL_PX) {
      const size = Math.min(13, rowPx - 2);
      for (let r = Math.max(r0, 0); r <= r1; r++) {
        const v = tips[r], y = sy(v);
        if (y < -rowPx || y > H + rowPx) continue;
        const el = document.createElement("span");
        el.className = "tip " + (isLeaf(v) ? "leaf" : "collapsed") + (hitSet.has(v) ? " hit" : "");
        el.dataset.id = v; el.dataset.name = isLeaf(v) ? D.names[v] : "";
        el.textContent = label(v);
        el.style.left = labelX() + "px"; el.style.top = y + "px"; el.style.fontSize = size + "px";
        if (isLeaf(v) && colorOf(v)) el.style.color = colorOf(v);
        frag.appendChild(el);
      }
      status.textContent = tips.length.toLocaleString() + " rows of " + K.toLocaleString() + " leaves";
    } else {
      status.textContent = tips.length.toLocaleString() + " rows of " + K.toLocaleString() + " leaves; zoom in (wheel) to read the names";
    }
    labels.replaceChildren(frag);
    if (api.firstDraw === null) api.firstDraw = performance.now();
  }

  // ---- interaction ----
  function nearest(mx, my) {
    let best = null, bd = 64;
    for (const [x, y, v] of drawn) {
      const d = (x - mx) ** 2 + (y - my) ** 2;
      if (d < bd) { bd = d; best = v; }
    }
    if (best === null && mx >= labelX() - triW - 6 && rowPx >= 2) {
      const r = Math.round((my - y0) / rowPx);
      if (r >= 0 && r < tips.length) best = tips[r];
    }
    return best;
  }

  function toggle(v) {
    if (isLeaf(v)) return;
    const y = sy(v);
    opened[v] = opened[v] ? 0 : 1;
    layout();
    y0 += y - sy(v);  // keep the clicked node where it was
    request();
  }

  function describe(v) {
    const lines = [isLeaf(v) ? D.names[v] : nLeaves[v] + " leaves (node " + v + ")"];
    const val = (a, d) => (a && a[v] !== null && a[v] !== undefined ? a[v].toFixed(d) : null);
    if (D.size) lines.push("points: " + D.size[v]);
    if (val(D.conf, 3) !== null) lines.push("mean confidence: " + val(D.conf, 3));
    if (val(D.purity, 3) !== null) lines.push("purity: " + val(D.purity, 3) + (D.major ? " (" + D.classes[D.major[v]] + ")" : ""));
    if (isLeaf(v) && D.color[v] >= 0) lines.push("group: " + D.groups[D.color[v]][0]);
    if (!isLeaf(v)) {
      const m = D.merge, t = v - K;
      if (m.strength && m.strength[t] !== null) lines.push("merge strength: " + m.strength[t].toFixed(3) + " of the reassigned mass" + (m.runner_up_share && m.runner_up_share[t] !== null ? " (runner-up " + m.runner_up_share[t].toFixed(3) + ")" : ""));
      if (m.margin_low && m.margin_low[t] !== null) lines.push("margins: lowest score " + m.margin_low[t].toExponential(2) + (m.margin_best && m.margin_best[t] !== null ? ", best relation " + m.margin_best[t].toExponential(2) : ""));
      lines.push("height: " + height(v) + (opened[v] ? "  (click to collapse)" : "  (click to open)"));
    }
    return lines.join("\n");
  }

  let drag = null, moved = false;
  stage.addEventListener("mousedown", e => { drag = { y: e.clientY, y0 }; moved = false; stage.style.cursor = "grabbing"; });
  window.addEventListener("mouseup", () => { drag = null; stage.style.cursor = "grab"; });
  window.addEventListener("mousemove", e => {
    const r = stage.getBoundingClientRect(), mx = e.clientX - r.left, my = e.clientY - r.top;
    if (drag) {
      if (Math.abs(e.clientY - drag.y) > 3) moved = true;
      y0 = drag.y0 + e.clientY - drag.y; request(); return;
    }
    const v = stage.contains(e.target) ? nearest(mx, my) : null;
    if (v === null) { tipBox.style.display = "none"; return; }
    tipBox.textContent = describe(v); tipBox.style.display = "block";
    tipBox.style.left = Math.min(e.clientX + 12, window.innerWidth - tipBox.offsetWidth - 4) + "px";
    tipBox.style.top = (e.clientY + 12) + "px";
  });
  stage.addEventListener("mouseleave", () => { tipBox.style.display = "none"; });
  stage.addEventListener("click", e => {
    if (moved) return;
    const r = stage.getBoundingClientRect();
    const v = e.target.dataset && e.target.dataset.id !== undefined ? +e.target.dataset.id : nearest(e.clientX - r.left, e.clientY - r.top);
    if (v !== null) toggle(v);
  });
  stage.addEventListener("wheel", e => {
    e.preventDefault();
    const r = stage.getBoundingClientRect(), my = e.clientY - r.top;
    if (e.shiftKey) { y0 -= e.deltaY; request(); return; }
    const f = Math.exp(-e.deltaY * 0.0015), row = (my - y0) / rowPx;
    rowPx = Math.min(40, rowPx * f); clampView(); y0 = my - row * rowPx; request();
  }, { passive: false });
  window.addEventListener("keydown", e => {
    if (e.target.tagName === "INPUT") return;
    if (e.key === "ArrowDown" || e.key === "PageDown") { y0 -= e.key === "PageDown" ? H * 0.9 : 3 * rowPx; request(); }
    if (e.key === "ArrowUp" || e.key === "PageUp") { y0 += e.key === "PageUp" ? H * 0.9 : 3 * rowPx; request(); }
  });

  function fit() { rowPx = 0; y0 = 12; clampView(); request(); }
  function center(v) { y0 = H / 2 - rowY[v] * rowPx; request(); }

  function search(q) {
    q = q.trim().toLowerCase();
    hits = []; onPath.fill(0);
    if (q) for (let v = 0; v < K; v++) if (D.names[v].toLowerCase().includes(q)) hits.push(v);
    hitSet = new Set(hits); hitAt = 0;
    for (const v of hits) { let u = v; while (u >= 0 && !onPath[u]) { onPath[u] = 1; if (parent[u] >= 0) opened[parent[u]] = 1; u = parent[u]; } }
    layout();
    if (hits.length) { rowPx = Math.max(rowPx, 14); center(hits[0]); }
    showCount(q);
    request();
  }
  function showCount(q) {
    document.getElementById("count").textContent = !q ? "" : hits.length === 1 ? "1 match"
      : hits.length ? (hitAt + 1) + " of " + hits.length + " matches" : "0 matches";
  }
  const box = document.getElementById("search");
  box.addEventListener("input", e => search(e.target.value));
  box.addEventListener("keydown", e => {
    if (e.key !== "Enter" || !hits.length) return;
    hitAt = (hitAt + 1) % hits.length; center(hits[hitAt]); showCount(box.value);
  });
  document.getElementById("open-all").addEventListener("click", () => { opened.fill(1); layout(); fit(); });
  document.getElementById("close-all").addEventListener("click", () => { openFirst(); layout(); fit(); });
  document.getElementById("fit").addEventListener("click", fit);
  document.getElementById("axis").addEventListener("click", e => {
    axis = axis === "order" ? "height" : "order"; e.target.textContent = "x: " + axis; layout(); request();
  });
  window.addEventListener("resize", () => { resize(); request(); });

  document.getElementById("title").textContent = D.title;
  if (D.groups.length) {
    const legend = document.getElementById("legend"), rows = document.getElementById("legend-rows");
    legend.hidden = false; legend.open = D.groups.length <= 12;
    legend.querySelector("summary").textContent = "legend: " + D.groups.length + " groups";
    D.groups.forEach(([g, c]) => {
      const div = document.createElement("div"), i = document.createElement("i");
      i.style.background = c; div.appendChild(i); div.appendChild(document.createTextNode(g)); div.title = g;
      rows.appendChild(div);
    });
  }

  // For scripts and tests: the state, and the page's own actions.
  const api = {
    firstDraw: null,  // ms after navigation
    get rows() { return tips.length; }, get rowPx() { return rowPx; },
    isOpen: v => !!opened[v], toggle, search, childrenOf, parentOf: v => parent[v],
    onPath: v => !!onPath[v],
    screenOf: v => { const r = stage.getBoundingClientRect(); return { x: r.left + sx(v), y: r.top + sy(v) }; },
    zoomTo: px => { rowPx = px; request(); },
    drawNow: draw,
  };
  window.l2hTree = api;
  resize(); layout(); fit(); draw();
})();
