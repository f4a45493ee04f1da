// Small helpers the views share: elements, tables, charts, links.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "html") el.innerHTML = value; // only for server-made, escaped HTML
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function fmt(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(+value.toPrecision(6));
  return String(value);
}

export function hashLink(path, query = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, value);
  }
  const text = params.toString();
  return `#${path}${text ? `?${text}` : ""}`;
}

export function keyValueTable(title, values, className = "") {
  const entries = Object.entries(values || {});
  if (!entries.length) return null;
  return h("section", { class: `nbt-card ${className}` },
    h("h3", {}, title),
    h("table", { class: "nbt-kv" },
      h("tbody", {}, entries.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, fmt(v)))))));
}

export async function chart(container, spec) {
  if (!window.vegaEmbed) {
    container.append(h("p", { class: "nbt-note" }, "charts are unavailable (vega.js did not load)"));
    return;
  }
  await window.vegaEmbed(container, spec, { actions: false, renderer: "svg" });
}

export function message(main, text, kind = "nbt-note") {
  put(main, h("p", { class: kind }, text));
}

// replaceChildren without the text "null" for the parts a view leaves out.
export function put(el, ...children) {
  el.replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
}

export function statusBadge(status) {
  return h("span", { class: `nbt-status nbt-${String(status).toLowerCase()}` }, status);
}
