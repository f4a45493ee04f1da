// The read API, relative to the page: ../api/ below whatever prefix the host serves the pages
// at (nbtrack ui: /nbtrack/ui/, Jupyter: {base_url}nbtrack/ui/), so one file serves both.
const BASE = new URL("../api/", document.baseURI);

export function apiUrl(path, query = {}) {
  const url = new URL(path, BASE);
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  return url;
}

function xsrfHeader() {
  // Jupyter's server checks this header on changes; nbtrack ui ignores it.
  const found = document.cookie.match(/(?:^|;\s*)_xsrf=([^;]*)/);
  return found ? { "X-XSRFToken": decodeURIComponent(found[1]) } : {};
}

async function call(method, path, query, body) {
  const response = await fetch(apiUrl(path, query), {
    method,
    credentials: "same-origin",
    headers: body ? { "Content-Type": "application/json", ...xsrfHeader() } : xsrfHeader(),
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || data.message || `${response.status}`);
  return data;
}

export const get = (path, query) => call("GET", path, query);
export const post = (path, body) => call("POST", path, {}, body);
export const del = (path) => call("DELETE", path, {});

// Resolves when the store changes after `since` (a long-poll: the server stats a marker file).
export const changes = (since) => get("changes", { since });
