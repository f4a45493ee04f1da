// The router: every page has an address (#/path?query) that can be shared, and the shown
// page is refreshed when the store changes (a long-poll on the store's marker files).
import { changes } from "./api.js";
import { message } from "./dom.js";
import { experimentsView } from "./view_experiments.js";
import { runsView } from "./view_runs.js";
import { runView } from "./view_run.js";
import { compareView } from "./view_compare.js";
import { modelsView, modelView } from "./view_registry.js";

const ROUTES = [
  [/^\/$/, experimentsView],
  [/^\/experiments\/(.+)$/, runsView],
  [/^\/runs\/([0-9a-f]{32})$/, runView],
  [/^\/compare$/, compareView],
  [/^\/models$/, modelsView],
  [/^\/models\/(.+)$/, modelView],
];

let current = null; // { refresh } of the page shown
let generation = 0;

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, search = ""] = raw.split("?");
  return { path, query: Object.fromEntries(new URLSearchParams(search)) };
}

async function show() {
  const main = document.getElementById("nbt-main");
  const { path, query } = parseHash();
  const mine = ++generation;
  for (const [pattern, view] of ROUTES) {
    const found = path.match(pattern);
    if (!found) continue;
    try {
      const page = await view(main, found.slice(1).map(decodeURIComponent), query);
      if (mine === generation) current = page || null;
    } catch (error) {
      if (mine === generation) message(main, error.message, "nbt-error");
    }
    return;
  }
  message(main, `No page at ${path}`, "nbt-error");
}

async function follow() {
  const live = document.getElementById("nbt-live");
  let version = "";
  for (;;) {
    try {
      const answer = await changes(version);
      live.classList.remove("nbt-off");
      if (answer.changed && version && current && current.refresh) {
        await current.refresh().catch(() => {});
      }
      version = answer.version;
    } catch (error) {
      live.classList.add("nbt-off");
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

window.addEventListener("hashchange", show);
show();
follow();
