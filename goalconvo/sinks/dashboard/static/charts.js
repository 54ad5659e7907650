// Small SVG charts, bundled with the page (no CDN): grouped bars, horizontal bars, lines.
const PALETTE = ["#3b6fb6", "#e07b39", "#3a9d5d", "#b64a8f", "#8c6d31", "#5b8ea6", "#c94f4f", "#7a6fb6"];
const NS = "http://www.w3.org/2000/svg";

function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function legend(names) {
  const div = document.createElement("div");
  div.className = "legend";
  names.forEach((n, i) => {
    const s = document.createElement("span");
    const sw = document.createElement("i");
    sw.style.background = PALETTE[i % PALETTE.length];
    s.append(sw, document.createTextNode(n));
    div.append(s);
  });
  return div;
}

// groups: [{label, values: [v per series]}], series: names; values in [0, max].
function groupedBars(container, groups, series, max) {
  container.replaceChildren();
  const W = 900, H = 240, left = 40, bottom = 40, top = 10;
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img" });
  const gw = (W - left) / Math.max(1, groups.length);
  const bw = Math.max(4, (gw - 20) / Math.max(1, series.length));
  const y = v => top + (H - top - bottom) * (1 - Math.min(1, (v || 0) / max));
  for (let t = 0; t <= 4; t++) {
    const v = (max * t) / 4;
    svg.append(el("line", { x1: left, x2: W, y1: y(v), y2: y(v), stroke: "#e3e6ea" }));
    svg.append(el("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#667" }, v.toFixed(2)));
  }
  groups.forEach((g, gi) => {
    g.values.forEach((v, si) => {
      if (v === null || v === undefined) return;
      const x = left + gi * gw + 10 + si * bw;
      const r = el("rect", { x, y: y(v), width: bw - 2, height: H - bottom - y(v), fill: PALETTE[si % PALETTE.length] });
      r.append(el("title", {}, `${series[si]} ${g.label}: ${(+v).toFixed(3)}`));
      svg.append(r);
    });
    svg.append(el("text", { x: left + gi * gw + gw / 2, y: H - bottom + 16, "text-anchor": "middle", "font-size": 12 }, g.label));
  });
  container.append(svg, legend(series));
}

// items: [{label, value}], horizontal bars sorted as given.
function hbars(container, items) {
  container.replaceChildren();
  if (!items.length) { container.textContent = "none"; return; }
  const W = 520, row = 22, left = 210;
  const H = row * items.length + 10;
  const max = Math.max(...items.map(i => i.value), 1);
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img" });
  items.forEach((it, i) => {
    const w = ((W - left - 50) * it.value) / max;
    svg.append(el("text", { x: left - 6, y: i * row + 16, "text-anchor": "end", "font-size": 12 }, it.label));
    svg.append(el("rect", { x: left, y: i * row + 4, width: Math.max(1, w), height: row - 8, fill: PALETTE[0] }));
    svg.append(el("text", { x: left + w + 4, y: i * row + 16, "font-size": 12 }, String(it.value)));
  });
  container.append(svg);
}

// lines: {name: [[x, y], ...]}; x is a unix time in seconds.
function lineChart(container, lines) {
  container.replaceChildren();
  const names = Object.keys(lines);
  const pts = names.flatMap(n => lines[n]);
  if (!pts.length) { container.textContent = "no data yet"; return; }
  const W = 520, H = 220, left = 46, bottom = 30, top = 10;
  const xs = pts.map(p => p[0]), ys = pts.map(p => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1), y1 = Math.max(...ys, 1e-9) * 1.1;
  const X = x => left + ((W - left - 10) * (x - x0)) / (x1 - x0);
  const Y = v => top + (H - top - bottom) * (1 - v / y1);
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img" });
  for (let t = 0; t <= 4; t++) {
    const v = (y1 * t) / 4;
    svg.append(el("line", { x1: left, x2: W, y1: Y(v), y2: Y(v), stroke: "#e3e6ea" }));
    svg.append(el("text", { x: left - 6, y: Y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#667" }, v.toFixed(2)));
  }
  const fmt = s => new Date(s * 1000).toLocaleTimeString();
  svg.append(el("text", { x: left, y: H - 8, "font-size": 11, fill: "#667" }, fmt(x0)));
  svg.append(el("text", { x: W - 10, y: H - 8, "font-size": 11, fill: "#667", "text-anchor": "end" }, fmt(x1)));
  names.forEach((n, i) => {
    const d = lines[n].map((p, j) => `${j ? "L" : "M"}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(" ");
    svg.append(el("path", { d, fill: "none", stroke: PALETTE[i % PALETTE.length], "stroke-width": 2 }));
    lines[n].forEach(p => svg.append(el("circle", { cx: X(p[0]), cy: Y(p[1]), r: 2.5, fill: PALETTE[i % PALETTE.length] })));
  });
  container.append(svg, legend(names));
}
