// The live chart of %%track --live: a panel per metric, its points as one SVG line, redrawn
// when Python sends new points (`series`: {key: {steps: [...], values: [...]}}). Plain SVG, no
// Vega: the kernel sends two arrays per metric, and nothing heavy loads in the page.

const WIDTH = 560;
const HEIGHT = 120;
const PAD = { left: 56, right: 12, top: 6, bottom: 20 };
const DOTS_UP_TO = 60;
const SVG = "http://www.w3.org/2000/svg";

const STYLE = `
.nbtrack-live {
  font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px);
  color: var(--jp-ui-font-color1, #212121);
}
.nbtrack-live .nbtrack-live-head { color: var(--jp-ui-font-color2, #616161); margin: 2px 0 4px; }
.nbtrack-live .nbtrack-live-panel { margin-bottom: 6px; }
.nbtrack-live .nbtrack-live-title { font-weight: 600; }
.nbtrack-live .nbtrack-live-title .nbtrack-live-value {
  font-weight: normal;
  color: var(--jp-ui-font-color2, #616161);
  font-variant-numeric: tabular-nums;
  padding-left: 8px;
}
.nbtrack-live svg { display: block; overflow: visible; }
.nbtrack-live svg text { fill: var(--jp-ui-font-color2, #616161); font-size: 10px; }
.nbtrack-live svg .nbtrack-grid { stroke: var(--jp-border-color2, rgba(127, 127, 127, 0.3)); }
.nbtrack-live svg .nbtrack-line {
  fill: none;
  stroke: var(--jp-brand-color1, #1976d2);
  stroke-width: 2;
  stroke-linejoin: round;
}
.nbtrack-live svg .nbtrack-dot { fill: var(--jp-brand-color1, #1976d2); }
.nbtrack-live svg .nbtrack-hover { fill: var(--jp-warn-color1, #f57c00); }
.nbtrack-live .nbtrack-restarted-line {
  padding: 4px 8px;
  margin-bottom: 4px;
  border-left: 3px solid var(--jp-warn-color1, #f57c00);
}
`;

function svg(tag, attributes = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== null) node.textContent = text;
  return node;
}

function format(value) {
  if (!Number.isFinite(value)) return String(value);
  const size = Math.abs(value);
  if (size !== 0 && (size >= 1e5 || size < 1e-3)) return value.toExponential(2);
  return Number(value.toPrecision(4)).toString();
}

// A scale from [low, high] to [from, to]; a single value sits in the middle.
function scale(low, high, from, to) {
  if (high === low) return () => (from + to) / 2;
  return (value) => from + ((value - low) / (high - low)) * (to - from);
}

function panel(key, steps, values) {
  const box = document.createElement("div");
  box.className = "nbtrack-live-panel";
  box.dataset.metric = key;
  const title = document.createElement("div");
  title.className = "nbtrack-live-title";
  title.textContent = key;
  const readout = document.createElement("span");
  readout.className = "nbtrack-live-value";
  title.append(readout);
  const n = values.length;
  const last = () => `step ${steps[n - 1]}: ${format(values[n - 1])}`;
  readout.textContent = n ? last() : "";
  const chart = svg("svg", { width: WIDTH, height: HEIGHT, role: "img" });
  chart.setAttribute("aria-label", `${key} over steps`);
  box.append(title, chart);
  if (!n) return box;

  const low = Math.min(...values);
  const high = Math.max(...values);
  const x = scale(steps[0], steps[n - 1], PAD.left, WIDTH - PAD.right);
  const y = scale(low, high, HEIGHT - PAD.bottom, PAD.top);
  for (const [value, anchor] of [
    [high, "end"],
    [low, "end"],
  ]) {
    chart.append(svg("line", { class: "nbtrack-grid", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value) }));
    chart.append(svg("text", { x: PAD.left - 6, y: y(value) + 3, "text-anchor": anchor }, format(value)));
  }
  const baseline = HEIGHT - PAD.bottom + 14;
  chart.append(svg("text", { x: PAD.left, y: baseline, "text-anchor": "start" }, `step ${steps[0]}`));
  chart.append(svg("text", { x: WIDTH - PAD.right, y: baseline, "text-anchor": "end" }, `${steps[n - 1]}`));
  const path = values.map((v, i) => `${i ? "L" : "M"}${x(steps[i]).toFixed(1)},${y(v).toFixed(1)}`);
  chart.append(svg("path", { class: "nbtrack-line", d: path.join(""), "data-points": String(n) }));
  if (n <= DOTS_UP_TO) {
    values.forEach((v, i) => chart.append(svg("circle", { class: "nbtrack-dot", cx: x(steps[i]), cy: y(v), r: 2.5 })));
  }
  // Hovering reads the nearest point out in the title.
  const marker = svg("circle", { class: "nbtrack-hover", r: 4, visibility: "hidden" });
  chart.append(marker);
  chart.addEventListener("mousemove", (event) => {
    const left = chart.getBoundingClientRect().left;
    const at = event.clientX - left;
    let best = 0;
    for (let i = 1; i < n; i++) if (Math.abs(x(steps[i]) - at) < Math.abs(x(steps[best]) - at)) best = i;
    marker.setAttribute("cx", x(steps[best]));
    marker.setAttribute("cy", y(values[best]));
    marker.setAttribute("visibility", "visible");
    readout.textContent = `step ${steps[best]}: ${format(values[best])}`;
  });
  chart.addEventListener("mouseleave", () => {
    marker.setAttribute("visibility", "hidden");
    readout.textContent = last();
  });
  return box;
}

function draw(model, head, panels) {
  const series = model.get("series") || {};
  const keys = Object.keys(series).sort();
  const points = keys.reduce((sum, key) => sum + series[key].values.length, 0);
  const state = model.get("done") ? "finished" : "running";
  head.textContent = keys.length
    ? `${model.get("run_name")} · ${state} · ${points.toLocaleString("en-US")} points drawn`
    : `${model.get("run_name")} · waiting for the first metric…`;
  panels.replaceChildren(...keys.map((key) => panel(key, series[key].steps, series[key].values)));
}

export default {
  render({ model, el }) {
    const root = document.createElement("div");
    root.className = "nbtrack-live";
    const style = document.createElement("style");
    style.textContent = STYLE;
    const head = document.createElement("div");
    head.className = "nbtrack-live-head";
    const panels = document.createElement("div");
    root.append(style, head, panels);
    el.replaceChildren(root);
    el.classList.add("nbtrack-live");
    const redraw = () => draw(model, head, panels);
    model.on("change:series", redraw);
    model.on("change:done", redraw);
    redraw();
    // After a kernel restart (ipywidgets sets the model's comm_live to false): keep the
    // drawing, which is what the cell logged, and say in one line what happened.
    const lost = () => {
      if (root.querySelector(".nbtrack-restarted-line")) return;
      const line = document.createElement("div");
      line.className = "nbtrack-restarted-line";
      line.setAttribute("role", "status");
      line.textContent = model.get("restart_message");
      head.before(line);
    };
    model.on("comm_live_update", lost);
    return () => {
      model.off("comm_live_update", lost);
      model.off("change:series", redraw);
      model.off("change:done", redraw);
    };
  },
};
