// Thin fetch wrapper for the JSON API (docs/API.md). Errors become Error objects whose message is
// the server's one-line explanation, so callers can show it as is.

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

export async function api(method, path, { body, params, signal } = {}) {
  const init = { method, headers: { Accept: "application/json" }, signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path + (params ? query(params) : ""), init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "offline", "The server cannot be reached.");
  }
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
