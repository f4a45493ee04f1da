// One run: its values, each metric's curve, its code, the notebook and cell it came from,
// the kernel's session history, its child runs and its artifacts with previews.
import { apiUrl, get } from "./api.js";
import { chart, fmt, h, hashLink, keyValueTable, statusBadge, put } from "./dom.js";

const MAX_CURVES = 8;
const HISTORY_ARTIFACT = "nbtrack/session_history.py";

export async function runView(main, [runId]) {
  const draw = async () => {
    const [run, listing] = await Promise.all([get(`runs/${runId}`), get(`runs/${runId}/artifacts`)]);
    const curves = h("div", { class: "nbt-curves" });
    put(main, 
      h("h2", {},
        h("a", { href: hashLink(`/experiments/${encodeURIComponent(run.experiment || run.experiment_id)}`) }, run.experiment || run.experiment_id),
        " / ", run.name, " ", statusBadge(run.status)),
      h("div", { class: "nbt-meta" },
        h("span", {}, `started ${run.start_time}`), run.duration && h("span", {}, `ran ${run.duration}`),
        run.user && h("span", {}, `by ${run.user}`), h("code", {}, run.id),
        run.parent && h("span", {}, "child of ", h("a", { href: `#/runs/${run.parent.id}` }, run.parent.name))),
      run.error && h("pre", { class: "nbt-error-box" }, run.error),
      h("div", { class: "nbt-grid" },
        keyValueTable("Params", run.params), keyValueTable("Metrics", run.metrics), keyValueTable("Tags", run.tags)),
      curves,
      sourceSection(run),
      childrenSection(run),
      artifactsSection(runId, listing));
    const keys = Object.keys(run.metrics).slice(0, MAX_CURVES);
    await Promise.all(keys.map(async (key) => {
      const history = await get("history", { runs: runId, key });
      if (history.points.length < 2) return;
      const holder = h("div", { class: "nbt-card nbt-chart", "data-metric": key });
      curves.append(holder);
      await chart(holder, history.spec);
    }));
    const history = listing.files.find((f) => f.path === HISTORY_ARTIFACT);
    if (history) main.append(await sessionHistory(runId));
  };
  await draw();
  return { refresh: draw };
}

function sourceSection(run) {
  const where = [];
  if (run.source_name) where.push(h("span", {}, h("b", {}, "from "), h("code", {}, run.source_name)));
  if (run.cell_id) where.push(h("span", {}, h("b", {}, " cell "), h("code", {}, run.cell_id)));
  if (run.git_commit) where.push(h("span", {}, h("b", {}, " git "), h("code", {}, run.git_commit.slice(0, 12))));
  if (!run.code && !where.length) return null;
  return h("section", { class: "nbt-card nbt-source" }, h("h3", {}, "Code"),
    h("div", { class: "nbt-meta" }, where), labActions(run),
    run.code ? h("div", { class: "nbt-code-box", html: run.code.html }) : h("p", { class: "nbt-note" }, "no code recorded"));
}

// Inside JupyterLab (the page in a frame of the lab, same origin) the lab does what a page
// cannot: open the notebook at the run's cell, or put the run's code into a new cell.
function labActions(run) {
  if (window.parent === window) return null;
  const ask = (message) => window.parent.postMessage({ nbtrack: message, run_id: run.id }, location.origin);
  const actions = [];
  if (run.source_name && run.cell_id) {
    actions.push(h("button", { class: "nbt-lab-open-cell",
      onclick: () => ask({ action: "open-cell", path: run.source_name, cell_id: run.cell_id }) },
      "Open the notebook at this cell"));
  }
  if (run.code) {
    actions.push(h("button", { class: "nbt-lab-insert-code",
      onclick: () => ask({ action: "insert-code", code: run.code.text }) },
      "Insert this code as a new cell"));
  }
  return actions.length ? h("div", { class: "nbt-toolbar" }, actions) : null;
}

function childrenSection(run) {
  if (!run.children.length) return null;
  return h("section", { class: "nbt-card" }, h("h3", {}, `Child runs (${run.children.length})`),
    h("ul", {}, run.children.map((c) => h("li", {}, h("a", { href: `#/runs/${c.id}` }, c.name), " ", statusBadge(c.status)))));
}

async function sessionHistory(runId) {
  const text = await (await fetch(fileUrl(runId, HISTORY_ARTIFACT))).text();
  return h("details", { class: "nbt-card" }, h("summary", {}, "Session history (the kernel's inputs before this run)"),
    h("pre", { class: "nbt-pre" }, text));
}

function fileUrl(runId, path) {
  return apiUrl(`runs/${runId}/artifacts/file`, { path });
}

function artifactsSection(runId, listing) {
  if (!listing.files.length) return null;
  const preview = h("div", { class: "nbt-preview" });
  const items = listing.files.map((file) => h("li", {},
    h("button", { class: "nbt-link", "data-path": file.path, onclick: () => showArtifact(runId, file, preview) }, file.path),
    h("span", { class: "nbt-size" }, ` ${fmt(file.size)} B`)));
  const section = h("section", { class: "nbt-card nbt-artifacts" }, h("h3", {}, "Artifacts"),
    h("div", { class: "nbt-split" }, h("ul", { class: "nbt-files" }, items), preview));
  const first = listing.files.find((f) => f.kind === "image") || listing.files[0];
  showArtifact(runId, first, preview);
  return section;
}

async function showArtifact(runId, file, preview) {
  const url = fileUrl(runId, file.path);
  const title = h("div", { class: "nbt-preview-title" }, h("b", {}, file.path), " ",
    h("a", { href: url, download: file.path.split("/").pop() }, "download"));
  let body;
  if (file.kind === "image") body = h("img", { src: url, alt: file.path, class: "nbt-image" });
  // No allow-scripts, no allow-same-origin: the file's scripts never run, and it has no origin.
  else if (file.kind === "frame") body = h("iframe", { src: url, sandbox: "", class: "nbt-frame", title: file.path });
  else if (file.kind === "table") {
    const data = await get(`runs/${runId}/artifacts/table`, { path: file.path });
    body = h("div", { class: "nbt-scroll" }, h("table", { class: "nbt-table" },
      h("thead", {}, h("tr", {}, data.columns.map((c) => h("th", {}, c)))),
      h("tbody", {}, data.rows.map((row) => h("tr", {}, row.map((v) => h("td", {}, fmt(v))))))));
  } else if (file.kind === "text" || file.kind === "data") {
    const text = await (await fetch(url)).text();
    body = h("pre", { class: "nbt-pre" }, text.length > 200000 ? `${text.slice(0, 200000)}\n…` : text);
  } else body = h("p", { class: "nbt-note" }, "no preview for this kind of file");
  put(preview, title, body);
}
