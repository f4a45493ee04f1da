// The registry: models, then one model's versions with their runs' metrics, its aliases and
// their history; promoting a version (or removing an alias) asks for a confirmation first.
import { del, get, post } from "./api.js";
import { fmt, h, hashLink, put } from "./dom.js";

export async function modelsView(main) {
  const draw = async () => {
    const { models } = await get("models");
    put(main, h("h2", {}, "Registry"),
      models.length ? h("table", { class: "nbt-table" },
        h("thead", {}, h("tr", {}, ["model", "versions", "latest", "aliases", "updated"].map((c) => h("th", {}, c)))),
        h("tbody", {}, models.map((m) => h("tr", {},
          h("td", {}, h("a", { href: hashLink(`/models/${encodeURIComponent(m.name)}`) }, m.name)),
          h("td", {}, m.version_count), h("td", {}, fmt(m.latest_version)),
          h("td", {}, aliasChips(m.aliases)), h("td", {}, m.updated_at)))))
        : h("p", { class: "nbt-note" }, "No registered model yet: log_model(..., registered_model_name=NAME) registers one."));
  };
  await draw();
  return { refresh: draw };
}

function aliasChips(aliases) {
  return Object.entries(aliases).map(([alias, version]) => h("span", { class: "nbt-chip" }, `@${alias} → v${version}`));
}

export async function modelView(main, [name]) {
  const draw = async () => {
    const model = await get(`models/${encodeURIComponent(name)}`);
    const aliasInput = h("input", { class: "nbt-alias", value: "champion", size: 12, "aria-label": "alias" });
    put(main, 
      h("h2", {}, h("a", { href: "#/models" }, "Registry"), " / ", model.name),
      h("div", { class: "nbt-toolbar" }, "Alias to set: ", aliasInput,
        Object.entries(model.aliases).map(([alias, version]) => h("span", { class: "nbt-chip" }, `@${alias} → v${version} `,
          h("button", { class: "nbt-x", title: `remove @${alias}`, onclick: () => removeAlias(model.name, alias, draw) }, "×")))),
      h("table", { class: "nbt-table nbt-versions" },
        h("thead", {}, h("tr", {}, ["version", "status", "aliases", "run", ...model.metric_keys, "registered", ""].map((c) => h("th", {}, c)))),
        h("tbody", {}, model.versions.map((v) => h("tr", { "data-version": v.version },
          h("td", {}, `v${v.version}`), h("td", {}, v.status), h("td", {}, v.aliases.map((a) => h("span", { class: "nbt-chip" }, `@${a}`))),
          h("td", {}, v.run_id ? h("a", { href: `#/runs/${v.run_id}` }, v.run_id.slice(0, 8)) : "—"),
          model.metric_keys.map((k) => h("td", { class: "nbt-num" }, fmt(v.metrics[k]))),
          h("td", {}, v.created_at),
          h("td", {}, v.status !== "ARCHIVED"
            ? h("button", { class: "nbt-promote", onclick: () => promote(model, v.version, aliasInput.value.trim() || "champion", draw) }, "Promote")
            : null))))),
      h("h3", {}, "Alias history"),
      model.history.length ? h("table", { class: "nbt-table nbt-history" },
        h("thead", {}, h("tr", {}, ["alias", "version", "previous", "changed at", "by"].map((c) => h("th", {}, c)))),
        h("tbody", {}, model.history.slice().reverse().map((row) => h("tr", {},
          h("td", {}, `@${row.alias}`), h("td", {}, fmt(row.version)), h("td", {}, fmt(row.previous_version)),
          h("td", {}, row.changed_at), h("td", {}, row.changed_by)))))
        : h("p", { class: "nbt-note" }, "No alias has been set yet."));
  };
  await draw();
  return { refresh: draw };
}

async function promote(model, version, alias, redraw) {
  const now = model.aliases[alias];
  const text = now === undefined ? `Point @${alias} of ${model.name} at version ${version}?`
    : `Move @${alias} of ${model.name} from version ${now} to version ${version}? Servers following ${model.name}@${alias} switch to it.`;
  if (!(await confirmed(text))) return;
  await report(post(`models/${encodeURIComponent(model.name)}/aliases`, { alias, version }), redraw);
}

async function removeAlias(name, alias, redraw) {
  if (!(await confirmed(`Remove @${alias} from ${name}?`))) return;
  await report(del(`models/${encodeURIComponent(name)}/aliases/${encodeURIComponent(alias)}`), redraw);
}

async function report(request, redraw) {
  try {
    await request;
    await redraw();
  } catch (error) {
    document.getElementById("nbt-main").prepend(h("p", { class: "nbt-error" }, error.message));
  }
}

function confirmed(text) {
  const dialog = document.getElementById("nbt-confirm");
  document.getElementById("nbt-confirm-text").textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
  });
}
