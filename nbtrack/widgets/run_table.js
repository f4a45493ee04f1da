// The run table's view: draws the one page of runs that Python sent, and reports clicks back
// through the model (sort_by / sort_desc, page, picked) and a "toggle" message for a row.
// Python sorts, pages and decides what a click on a row does to the selection.

const STYLE = `
.nbtrack-run-table {
  font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px);
  color: var(--jp-ui-font-color1, #212121);
  background: var(--jp-layout-color1, transparent);
}
.nbtrack-run-table .nbtrack-scroll { overflow-x: auto; max-width: 100%; }
.nbtrack-run-table table { border-collapse: collapse; width: max-content; min-width: 100%; }
.nbtrack-run-table th, .nbtrack-run-table td {
  padding: 3px 10px;
  border-bottom: 1px solid var(--jp-border-color2, rgba(127, 127, 127, 0.3));
  white-space: nowrap;
  text-align: left;
  max-width: 22em;
  overflow: hidden;
  text-overflow: ellipsis;
}
.nbtrack-run-table th {
  position: sticky;
  top: 0;
  cursor: pointer;
  user-select: none;
  font-weight: 600;
  background: var(--jp-layout-color2, rgba(127, 127, 127, 0.12));
  border-bottom: 1px solid var(--jp-border-color1, rgba(127, 127, 127, 0.6));
}
.nbtrack-run-table th:hover { color: var(--jp-brand-color1, #1976d2); }
.nbtrack-run-table th .nbtrack-arrow { padding-left: 4px; color: var(--jp-brand-color1, #1976d2); }
.nbtrack-run-table td.nbtrack-number { text-align: right; font-variant-numeric: tabular-nums; }
.nbtrack-run-table td.nbtrack-missing { color: var(--jp-ui-font-color3, #9e9e9e); }
.nbtrack-run-table tbody tr[data-run-id] { cursor: pointer; }
.nbtrack-run-table tbody tr[data-run-id]:hover { background: rgba(127, 127, 127, 0.12); }
.nbtrack-run-table tbody tr.selected {
  background: rgba(33, 150, 243, 0.22);
  box-shadow: inset 3px 0 0 var(--jp-brand-color1, #1976d2);
}
.nbtrack-run-table tbody tr.selected:hover { background: rgba(33, 150, 243, 0.32); }
/* Charted by default, not chosen: a dashed edge and a paler tint, so the user's own choice
   (solid) looks different. */
.nbtrack-run-table tbody tr.auto-selected {
  background: rgba(33, 150, 243, 0.08);
  box-shadow: none;
}
.nbtrack-run-table tbody tr.auto-selected td:nth-child(2) {
  border-left: 3px dashed var(--jp-brand-color2, #64b5f6);
}
.nbtrack-run-table tbody tr.auto-selected:hover { background: rgba(33, 150, 243, 0.16); }
/* Rows that are not what the filter box says (the filter typed was refused). */
.nbtrack-run-table.stale tbody { opacity: 0.4; filter: grayscale(1); }
.nbtrack-run-table tbody tr.picked td { font-weight: 600; }
.nbtrack-run-table tbody tr.picked {
  outline: 2px solid var(--jp-warn-color1, #f57c00);
  outline-offset: -2px;
}
.nbtrack-run-table td.nbtrack-pick, .nbtrack-run-table th.nbtrack-pick {
  width: 1.4em;
  padding: 3px 2px 3px 6px;
  text-align: center;
  color: var(--jp-ui-font-color3, #9e9e9e);
}
.nbtrack-run-table td.nbtrack-pick:hover { color: var(--jp-warn-color1, #f57c00); }
.nbtrack-run-table tr.picked td.nbtrack-pick { color: var(--jp-warn-color1, #f57c00); }
.nbtrack-run-table tr.nbtrack-empty td {
  color: var(--jp-ui-font-color2, #616161);
  font-style: italic;
  cursor: default;
}
.nbtrack-run-table .nbtrack-pager {
  display: flex;
  align-items: center;
  gap: 8px;
  padding: 4px 2px;
  color: var(--jp-ui-font-color2, #616161);
}
.nbtrack-run-table .nbtrack-pager button {
  font: inherit;
  color: inherit;
  background: transparent;
  border: 1px solid var(--jp-border-color1, rgba(127, 127, 127, 0.6));
  border-radius: 3px;
  padding: 0 8px;
  cursor: pointer;
}
.nbtrack-run-table .nbtrack-pager button:disabled { opacity: 0.35; cursor: default; }
`;

function element(tag, attributes = {}, text = null) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== null) node.textContent = text;
  return node;
}

// Columns of text that read as numbers (a duration with its unit): aligned as numbers.
const NUMBER_COLUMNS = new Set(["duration"]);

function cell(value, column) {
  if (value === null || value === undefined) {
    return element("td", { class: "nbtrack-missing" }, "—");
  }
  const number = typeof value === "number" || NUMBER_COLUMNS.has(column);
  const td = element("td", number ? { class: "nbtrack-number" } : {});
  td.textContent = String(value);
  td.title = String(value);
  return td;
}

function header(model, column) {
  const sortBy = model.get("sort_by");
  const descending = model.get("sort_desc");
  const sorted = sortBy === column;
  const th = element("th", {
    "data-column": column,
    tabindex: "0",
    "aria-sort": sorted ? (descending ? "descending" : "ascending") : "none",
    title: sorted && !descending ? `sort ${column} descending` : `sort by ${column}`,
  });
  if (sorted) th.classList.add("sorted", descending ? "desc" : "asc");
  th.append(element("span", {}, column));
  if (sorted) th.append(element("span", { class: "nbtrack-arrow" }, descending ? "▼" : "▲"));
  const sort = () => {
    // A new column sorts ascending; the sorted one flips direction.
    model.set("sort_desc", sorted ? !descending : false);
    model.set("sort_by", column);
    model.save_changes();
  };
  th.addEventListener("click", sort);
  th.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      sort();
    }
  });
  return th;
}

function pickButton(model, runId, picked) {
  const isPicked = picked.has(runId);
  const td = element(
    "td",
    { class: "nbtrack-pick", title: isPicked ? "unpick" : "highlight this run in the chart" },
    isPicked ? "◉" : "○",
  );
  td.addEventListener("click", (event) => {
    // The row's own click selects; this one only picks.
    event.stopPropagation();
    const now = [...model.get("picked")];
    model.set("picked", isPicked ? now.filter((id) => id !== runId) : [...now, runId]);
    model.save_changes();
  });
  return td;
}

function row(model, values, columns, selected, picked) {
  const runId = values.run_id;
  const auto = model.get("auto_selected");
  const tr = element("tr", { "data-run-id": runId, tabindex: "0" });
  tr.setAttribute("aria-selected", selected.has(runId) ? "true" : "false");
  if (selected.has(runId)) {
    tr.classList.add(auto ? "auto-selected" : "selected");
    if (auto) tr.title = "charted by default: click rows to chart your own choice";
  }
  if (picked.has(runId)) tr.classList.add("picked");
  tr.append(pickButton(model, runId, picked));
  for (const column of columns) tr.append(cell(values[column], column));
  // Python decides what the click does (the first click replaces the default selection).
  const toggle = () => model.send({ event: "toggle", run_id: runId });
  tr.addEventListener("click", toggle);
  tr.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      toggle();
    }
  });
  return tr;
}

function pager(model) {
  const total = model.get("total");
  const size = Math.max(1, model.get("page_size"));
  const pages = Math.max(1, Math.ceil(total / size));
  const page = Math.min(Math.max(1, model.get("page")), pages);
  const first = total === 0 ? 0 : (page - 1) * size + 1;
  const last = Math.min(total, page * size);
  const number = (n) => n.toLocaleString("en-US");
  const bar = element("div", { class: "nbtrack-pager" });
  const previous = element("button", { class: "nbtrack-prev", title: "previous page" }, "‹");
  const next = element("button", { class: "nbtrack-next", title: "next page" }, "›");
  previous.disabled = page <= 1;
  next.disabled = page >= pages;
  const go = (to) => {
    model.set("page", to);
    model.save_changes();
  };
  previous.addEventListener("click", () => go(page - 1));
  next.addEventListener("click", () => go(page + 1));
  const range = element("span", { class: "nbtrack-range" });
  range.textContent = `${number(first)}–${number(last)} of ${number(total)}`;
  bar.append(previous, range, next);
  return bar;
}

function draw(model, root) {
  const columns = model.get("columns");
  const rows = model.get("rows");
  const selected = new Set(model.get("selected"));
  const picked = new Set(model.get("picked"));
  const table = element("table");
  const headRow = element("tr");
  headRow.append(element("th", { class: "nbtrack-pick", title: "pick: highlight in the chart" }));
  for (const column of columns) headRow.append(header(model, column));
  table.append(element("thead"));
  table.tHead.append(headRow);
  const body = element("tbody");
  if (rows.length === 0) {
    const empty = element("tr", { class: "nbtrack-empty" });
    const td = element("td", { colspan: String(columns.length + 1) });
    td.textContent = model.get("empty_message");
    empty.append(td);
    body.append(empty);
  }
  for (const values of rows) body.append(row(model, values, columns, selected, picked));
  table.append(body);
  // The scrolling box survives redraws, so a click does not jump the table back to the left.
  root.scroll.replaceChildren(table);
  root.container.classList.toggle("stale", Boolean(model.get("stale")));
  const first = body.querySelector("tr.picked");
  if (first && picked.size) first.scrollIntoView({ block: "nearest", inline: "nearest" });
  root.pager.replaceWith((root.pager = pager(model)));
}

export default {
  render({ model, el }) {
    const container = element("div", { class: "nbtrack-run-table" });
    const style = element("style");
    style.textContent = STYLE;
    const root = {
      container,
      scroll: element("div", { class: "nbtrack-scroll" }),
      pager: element("div"),
    };
    container.append(style, root.scroll, root.pager);
    el.replaceChildren(container);
    const redraw = () => draw(model, root);
    const events = [
      "change:rows",
      "change:columns",
      "change:selected",
      "change:picked",
      "change:total",
      "change:page",
      "change:page_size",
      "change:sort_by",
      "change:sort_desc",
      "change:empty_message",
      "change:auto_selected",
      "change:stale",
    ];
    for (const event of events) model.on(event, redraw);
    redraw();
    return () => {
      for (const event of events) model.off(event, redraw);
    };
  },
};
