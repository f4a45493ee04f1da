// Runs side by side: one metric's curves for every run on one chart, a param against the
// metric, parallel coordinates, the values in a table and the code diff of the first two.
import { get } from "./api.js";
import { chart, fmt, h, hashLink, put } from "./dom.js";

export async function compareView(main, _, query) {
  const draw = async () => {
    const data = await get("compare", { runs: query.runs, metric: query.metric, param: query.param });
    const pick = (name, keys, value) => h("label", {}, `${name} `, h("select", {
      onchange: (event) => { location.hash = hashLink("/compare", { ...query, [name]: event.target.value }); },
    }, keys.map((k) => h("option", { value: k, selected: k === value }, k))));
    const charts = h("div", { class: "nbt-curves" });
    put(main, 
      h("h2", {}, `Compare ${data.runs.length} runs`),
      h("div", { class: "nbt-toolbar" }, pick("metric", data.metric_keys, data.metric), pick("param", data.param_keys, data.param)),
      charts, valuesTable(data), diffSection(data.diff));
    for (const name of ["history", "scatter", "parallel"]) {
      if (!data.charts[name]) continue;
      const holder = h("div", { class: "nbt-card nbt-chart", "data-chart": name });
      charts.append(holder);
      await chart(holder, data.charts[name]);
    }
  };
  await draw();
  return { refresh: draw };
}

function valuesTable(data) {
  const keys = [...data.param_keys.map((k) => `params.${k}`), ...data.metric_keys.map((k) => `metrics.${k}`)];
  return h("section", { class: "nbt-card nbt-scroll" }, h("table", { class: "nbt-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "run"), keys.map((k) => h("th", {}, k)))),
    h("tbody", {}, data.runs.map((r) => h("tr", {}, h("td", {}, h("a", { href: `#/runs/${r.run_id}` }, r.run_name)),
      keys.map((k) => h("td", { class: "nbt-num" }, fmt(r[k]))))))));
}

function diffSection(diff) {
  if (!diff) return null;
  const lines = diff.code_lines.length
    ? diff.code_lines.map((line) => h("div", { class: line.startsWith("+") ? "nbt-add" : line.startsWith("-") ? "nbt-del" : "" }, line))
    : [h("div", { class: "nbt-note" }, "the two runs have the same code")];
  const changes = Object.entries({ ...diff.params, ...diff.metrics });
  return h("section", { class: "nbt-card" }, h("h3", {}, "Code diff of the first two runs"),
    h("pre", { class: "nbt-diff" }, lines),
    changes.length ? h("table", { class: "nbt-kv" }, h("tbody", {}, changes.map(([k, [a, b]]) =>
      h("tr", {}, h("th", {}, k), h("td", {}, fmt(a)), h("td", {}, "→"), h("td", {}, fmt(b)))))) : null);
}
