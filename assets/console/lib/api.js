// The REST client of the console: the session (access and refresh tokens), one `api` call
// that refreshes an expired token once, and errors that keep the server's 422 field map.

let session = JSON.parse(sessionStorage.getItem("voki.session") || "null");
let onLoggedOut = () => {};

export class ApiError extends Error {
  /// `fields`: the 422 field map (`{field: [messages]}`), else null; `detail`: the message.
  constructor(status, errors) {
    const detail = typeof errors?.detail === "string" ? errors.detail : null;
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
    const fields = Object.fromEntries(Object.entries(errors || {}).filter(([k]) => k !== "detail"));
    this.fields = Object.keys(fields).length ? fields : null;
    this.body = errors;
  }
}

export const getSession = () => session;

export function saveSession(value) {
  session = value;
  if (value) sessionStorage.setItem("voki.session", JSON.stringify(value));
  else sessionStorage.removeItem("voki.session");
}

export function whenLoggedOut(handler) {
  onLoggedOut = handler;
}

function headers(json) {
  const result = { Authorization: `Bearer ${session?.access_token}`, "X-Tenant": session?.tenant };
  if (json) result["Content-Type"] = "application/json";
  return result;
}

export async function api(method, path, body, retry = true) {
  const reply = await fetch(path, {
    method,
    headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (reply.status === 401 && retry && (await refresh())) return api(method, path, body, false);
  if (reply.status === 401) {
    onLoggedOut();
    throw new ApiError(401, { detail: "Unauthorized" });
  }
  if (reply.status === 204) return null;
  const json = await reply.json().catch(() => ({}));
  if (!reply.ok) throw new ApiError(reply.status, json.errors);
  return json;
}

/// Every page of a list (at most `limit` rows), for the small lists of the admin screens.
export async function all(path, limit = 500) {
  const rows = [];
  const join = path.includes("?") ? "&" : "?";
  for (let page = 1; rows.length < limit; page += 1) {
    const { data, meta } = await api("GET", `${path}${join}page_size=100&page=${page}`);
    rows.push(...data);
    if (!meta || page >= meta.total_pages) break;
  }
  return rows;
}

export async function refresh() {
  if (!session?.refresh_token) return false;
  const reply = await fetch("/api/auth/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: session.refresh_token }),
  });
  if (!reply.ok) return false;
  const { data } = await reply.json();
  saveSession({ ...session, access_token: data.access_token, refresh_token: data.refresh_token });
  return true;
}

/// A public (unauthenticated) JSON POST: login, MFA verify.
export async function post(path, body) {
  const reply = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const json = await reply.json().catch(() => ({}));
  if (!reply.ok) throw new ApiError(reply.status, json.errors);
  return json.data;
}

export async function logout() {
  if (session) {
    await fetch("/api/auth/logout", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: session.refresh_token }),
    }).catch(() => {});
  }
  saveSession(null);
}

/// Downloads an export (CSV, or a customer's JSON document) with the session's headers and
/// saves it as `name`.
export async function download(path, name) {
  let reply = await fetch(path, { headers: headers(false) });
  if (reply.status === 401 && (await refresh())) reply = await fetch(path, { headers: headers(false) });
  if (!reply.ok) {
    const json = await reply.json().catch(() => ({}));
    throw new ApiError(reply.status, json.errors);
  }
  const url = URL.createObjectURL(await reply.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}
