// An experiment's runs: one page at a time from the server (never every run in the browser),
// filtered with the search grammar, sorted by a column, with the columns chosen. The filter,
// sort, page and columns live in the address, so the view can be shared.
import { get } from "./api.js";
import { fmt, h, hashLink, statusBadge, put } from "./dom.js";

const selected = new Set();

export async function runsView(main, [experiment], query) {
  const state = { filter: query.filter || "", sort: query.sort || "", page: +query.page || 1, columns: query.columns || "" };
  const go = (changes) => {
    const next = { ...state, ...changes };
    location.hash = hashLink(`/experiments/${encodeURIComponent(experiment)}`, {
      filter: next.filter, sort: next.sort, page: next.page > 1 ? next.page : "", columns: next.columns,
    });
  };
  const filterBox = h("input", { class: "nbt-filter", type: "search", value: state.filter, size: 60,
    placeholder: "metrics.acc > 0.9 and params.lr = '0.1'  (Enter to apply)",
    onkeydown: (event) => { if (event.key === "Enter") go({ filter: filterBox.value.trim(), page: 1 }); } });
  const notes = h("div", { class: "nbt-notes" });
  const tableHolder = h("div", { class: "nbt-scroll" });
  const pager = h("div", { class: "nbt-pager" });
  const compareButton = h("button", { class: "nbt-primary", onclick: () => {
    location.hash = hashLink("/compare", { runs: [...selected].join(",") });
  } }, "Compare selected");
  const chooser = h("details", { class: "nbt-columns" }, h("summary", {}, "Columns"));
  put(main, 
    h("h2", {}, h("a", { href: "#/" }, "Experiments"), " / ", experiment),
    h("div", { class: "nbt-toolbar" }, filterBox, chooser, compareButton),
    notes, tableHolder, pager);

  const draw = async () => {
    const page = await get("runs", { experiment, filter: state.filter, sort: state.sort, page: state.page, columns: state.columns });
    put(notes, 
      h("span", { class: "nbt-count" }, `${page.total} run${page.total === 1 ? "" : "s"}`),
      page.filter_error && h("span", { class: "nbt-error" }, page.filter_error),
      page.filter_note && h("span", { class: "nbt-note" }, page.filter_note),
      page.sort_note && h("span", { class: "nbt-note" }, page.sort_note));
    compareButton.disabled = selected.size < 1;
    compareButton.textContent = `Compare selected (${selected.size})`;
    drawChooser(chooser, experiment, page, (columns) => go({ columns }));
    put(tableHolder, runsTable(page, state.sort, (sort) => go({ sort, page: 1 }), () => {
      compareButton.disabled = selected.size < 1;
      compareButton.textContent = `Compare selected (${selected.size})`;
    }));
    put(pager, 
      h("button", { disabled: page.page <= 1, onclick: () => go({ page: page.page - 1 }) }, "‹ Previous"),
      h("span", {}, ` page ${page.page} of ${page.pages} `),
      h("button", { disabled: page.page >= page.pages, onclick: () => go({ page: page.page + 1 }) }, "Next ›"));
    if (page.empty_message) tableHolder.append(h("p", { class: "nbt-note" }, page.empty_message));
  };
  await draw();
  return { refresh: draw };
}

function runsTable(page, sort, onSort, onSelect) {
  const sortable = new Set(page.columns);
  const head = page.columns.map((column) => {
    const active = sort.replace(/^-/, "") === column;
    const arrow = active ? (sort.startsWith("-") ? " ▼" : " ▲") : "";
    const next = active && !sort.startsWith("-") ? `-${column}` : column;
    return h("th", { class: sortable.has(column) ? "nbt-sortable" : "", "data-column": column,
      onclick: sortable.has(column) ? () => onSort(next) : undefined }, column.replace(/^(metrics|params|tags)\./, "") + arrow,
      column.includes(".") ? h("div", { class: "nbt-kind" }, column.split(".")[0]) : null);
  });
  const rows = page.rows.map((row) => h("tr", { "data-run-id": row.run_id },
    h("td", {}, h("input", { type: "checkbox", checked: selected.has(row.run_id), onchange: (event) => {
      if (event.target.checked) selected.add(row.run_id); else selected.delete(row.run_id);
      onSelect();
    } })),
    page.columns.map((column) => h("td", { class: typeof row[column] === "number" ? "nbt-num" : "" },
      column === "run_name" ? h("a", { href: `#/runs/${row.run_id}` }, fmt(row[column] || row.run_id.slice(0, 8)))
        : column === "status" ? statusBadge(row[column]) : fmt(row[column])))));
  return h("table", { class: "nbt-table nbt-runs" }, h("thead", {}, h("tr", {}, h("th", {}), head)), h("tbody", {}, rows));
}

// The chooser lists every column of the experiment, asked for when it is opened (a page
// carries only the columns its own runs have).
function drawChooser(chooser, experiment, page, onChange) {
  const shown = new Set(page.columns);
  const list = h("div", { class: "nbt-column-list" }, h("span", { class: "nbt-note" }, "loading…"));
  put(chooser, chooser.firstChild, list);
  chooser.ontoggle = async () => {
    if (!chooser.open) return;
    const { columns } = await get("columns", { experiment });
    const boxes = columns.map((column) => h("label", {},
      h("input", { type: "checkbox", value: column, checked: shown.has(column) }), ` ${column}`));
    const apply = h("button", { onclick: () => {
      const chosen = boxes.map((label) => label.firstChild).filter((box) => box.checked).map((box) => box.value);
      onChange(chosen.join(","));
    } }, "Apply");
    const reset = h("button", { onclick: () => onChange("") }, "All");
    put(list, boxes, h("div", {}, apply, " ", reset));
  };
}
