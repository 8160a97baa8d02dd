// Thin fetch wrapper for the JSON API (docs/API.md). Errors become Error objects whose message is
// the server's one-line explanation, so callers can show it as is.
//
// Every URL is relative to the page, so the whole app works under a reverse proxy's sub-path
// (BASE_PATH=/comics serves the page at /comics/ and the API at /comics/api/...). Callers keep writing
// "/api/..." for readability; `appUrl()` drops the leading slash.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export const appUrl = (path) => path.replace(/^\/+/, "");

let leaving = false;

// Signed out (session expired, server restarted, signed out in another tab): go to the login page,
// which brings the person back here afterwards. `next` is a path inside the app, where the page is "/".
export function toLogin() {
  if (leaving) return;
  leaving = true;
  location.assign(`${appUrl("/login")}?next=/${encodeURIComponent(location.search)}`);
}

export async function api(method, path, { body, params, signal } = {}) {
  const init = { method, headers: { Accept: "application/json" }, signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(appUrl(path) + (params ? query(params) : ""), init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "offline", "The server cannot be reached.");
  }
  if (res.status === 401) toLogin();
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const e = data && data.error;
    throw new ApiError(res.status, e ? e.code : "error", e ? e.message : `${res.status} ${res.statusText}`);
  }
  return data;
}

export const get = (path, params, signal) => api("GET", path, { params, signal });
export const post = (path, body) => api("POST", path, { body: body ?? {} });
export const put = (path, body) => api("PUT", path, { body });
export const del = (path, params) => api("DELETE", path, { params });
