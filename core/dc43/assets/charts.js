// Draws each svg.dc43-chart under a root from the JSON island #dc43-data: rows and violations per
// micro-batch, a dot per batch in its status's colour. `dc43 report` inlines this file; the service's
// pages load it and call dc43Charts again on the part of the page they swapped in.
(() => {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const COLOURS = {ok: "#2f9e44", warn: "#e8a317", block: "#d63a2f", unknown: "#9aa0a6"};
  const W = 960, LEFT = 64, RIGHT = 20, PLOT_W = W - LEFT - RIGHT;
  const fmt = (n) => n.toLocaleString("en-US", {maximumFractionDigits: 1});

  function add(parent, name, attrs, text) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return parent.appendChild(node);
  }

  function niceMax(value) {
    if (value <= 0) return 1;
    const step = Math.pow(10, Math.floor(Math.log10(value)));
    for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * step >= value) return m * step;
    return 10 * step;
  }

  function tooltip(b) {
    const lines = [`batch ${b.batch_id} (version ${b.version}): ${b.status}`,
      `rows ${fmt(b.rows)} · violations ${fmt(b.violations)}`, b.recorded_at];
    if (b.reason) lines.push(b.reason);
    return lines.join("\n");
  }

  function panel(svg, batches, x, series, title, top, height) {
    const max = niceMax(Math.max(...batches.map((b) => b[series])));
    const y = (v) => top + height - (v / max) * height;
    add(svg, "text", {x: LEFT, y: top - 12, class: "title"}, title);
    for (const tick of [0, max / 2, max]) {
      add(svg, "line", {x1: LEFT, x2: W - RIGHT, y1: y(tick), y2: y(tick),
        stroke: tick ? "#eef1f4" : "#c9d0d8", "stroke-width": 1});
      add(svg, "text", {x: LEFT - 8, y: y(tick) + 4, "text-anchor": "end"}, fmt(tick));
    }
    const points = batches.map((b, i) => `${x(i).toFixed(1)},${y(b[series]).toFixed(1)}`);
    if (batches.length > 1) {
      add(svg, "polygon", {points: `${x(0)},${y(0)} ${points.join(" ")} ${x(batches.length - 1)},${y(0)}`,
        fill: series === "rows" ? "#5b7bd51a" : "#d63a2f14"});
      add(svg, "polyline", {points: points.join(" "), fill: "none",
        stroke: series === "rows" ? "#5b7bd5" : "#c0504d", "stroke-width": 1.5, "stroke-linejoin": "round"});
    }
    const r = batches.length <= 60 ? 5 : batches.length <= 200 ? 3.5 : 2.5;
    const group = add(svg, "g", {class: "series", "data-series": series});
    batches.forEach((b, i) => {
      const dot = add(group, "circle", {cx: x(i).toFixed(1), cy: y(b[series]).toFixed(1), r,
        fill: COLOURS[b.status] || COLOURS.unknown, "data-series": series,
        "data-batch-id": b.batch_id, "data-status": b.status});
      add(dot, "title", {}, tooltip(b));
    });
  }

  function legend(svg) {
    let x = W - RIGHT;
    for (const status of Object.keys(COLOURS).reverse()) {
      const label = add(svg, "text", {x, y: 22, "text-anchor": "end"}, status);
      x -= label.getComputedTextLength() + 8;
      add(svg, "rect", {x: x - 4.5, y: 13.5, width: 9, height: 9, rx: 4.5, fill: COLOURS[status]});
      x -= 16;
    }
  }

  function draw(svg, chart) {
    const batches = chart.batches, n = batches.length;
    legend(svg);
    const x = (i) => LEFT + (n === 1 ? PLOT_W / 2 : (i * PLOT_W) / (n - 1));
    panel(svg, batches, x, "rows", "Rows per micro-batch", 34, 120);
    panel(svg, batches, x, "violations", "Violations per micro-batch", 204, 70);
    const every = Math.max(1, Math.ceil(n / 10));
    batches.forEach((b, i) => {
      if (i % every === 0 || i === n - 1) {
        add(svg, "text", {x: x(i), y: 294, "text-anchor": "middle"}, String(b.batch_id));
      }
    });
    const caption = chart.total > n ? `newest ${fmt(n)} of ${fmt(chart.total)} batches` : `${fmt(n)} batches`;
    add(svg, "text", {x: LEFT + PLOT_W / 2, y: 318, "text-anchor": "middle"},
      `micro-batch id, oldest → newest (${caption})`);
  }

  function drawAll(root) {
    const island = root.querySelector("#dc43-data") || document.getElementById("dc43-data");
    if (!island) return;
    const charts = new Map(JSON.parse(island.textContent).charts.map((c) => [c.dataset_id, c]));
    root.querySelectorAll("svg.dc43-chart").forEach((svg) => {
      const chart = charts.get(svg.getAttribute("data-dataset-id"));
      if (chart && !svg.hasChildNodes()) draw(svg, chart);
    });
  }

  window.dc43Charts = drawAll;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => drawAll(document));
  } else {
    drawAll(document);
  }
})();
