import { get } from "./api.js";
import { h, hashLink, put } from "./dom.js";

export async function experimentsView(main) {
  const draw = async () => {
    const { experiments } = await get("experiments");
    put(main, 
      h("h2", {}, "Experiments"),
      h("table", { class: "nbt-table" },
        h("thead", {}, h("tr", {}, h("th", {}, "name"), h("th", {}, "id"), h("th", {}, "created"))),
        h("tbody", {}, experiments.map((e) => h("tr", {},
          h("td", {}, h("a", { href: hashLink(`/experiments/${encodeURIComponent(e.name)}`) }, e.name)),
          h("td", {}, e.id), h("td", {}, e.created_at))))));
  };
  await draw();
  return { refresh: draw };
}
