// Two dialogs of the header menu: the reader servers and notifications (with test buttons and
// each server's state), and the series check with its one-click fixes. The server masks every
// secret; a masked value sent back unchanged keeps the stored one.

import { get, post, put } from "./api.js";
import { $, $$, el } from "./dom.js";
import { toast } from "./toast.js";

const STATE_WORDS = { idle: "no change yet", ok: "up to date", down: "down, retrying", refused: "key refused" };

function librariesText(libraries) {
  return (libraries || []).map((lib) => `${lib.id} = ${lib.folder}`).join("\n");
}

function parseLibraries(text) {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [id, ...rest] = line.split("=");
      return { id: id.trim(), folder: rest.join("=").trim() };
    });
}

function field(label, input) {
  return el("label", { class: "field" }, el("span", { text: label }), input);
}

function serverBox(server, state, onTest) {
  const input = (name, type = "text") =>
    el("input", { type, "data-key": name, value: server[name] ?? "", autocomplete: "off" });
  const kind = el("select", { "data-key": "kind" }, el("option", { value: "komga", text: "Komga" }),
    el("option", { value: "kavita", text: "Kavita" }));
  kind.value = server.kind || "komga";
  const enabled = el("input", { type: "checkbox", "data-key": "enabled" });
  enabled.checked = server.enabled !== false;
  const libraries = el("textarea", { "data-key": "libraries", rows: "2", spellcheck: "false" });
  libraries.value = librariesText(server.libraries);
  const status = el("p", { class: "server-state", "aria-live": "polite",
    text: state ? `${STATE_WORDS[state.state] || state.state}: ${state.message || ""} (${state.scans_sent} scans asked)` : "" });
  const box = el("fieldset", { class: "server" },
    el("legend", { text: server.name || "New server" }),
    el("div", { class: "grid-fields" },
      field("Name", input("name")), field("Kind", kind), field("URL", input("url", "url")),
      field("API key", input("api_key", "password")), field("User (Komga)", input("username")),
      field("Password (Komga)", input("password", "password")),
      field("Its path of this library (empty: the same)", input("remote_root")),
      field("Libraries: id = folder here, a line each (empty: find by path)", libraries),
      el("label", { class: "check" }, enabled, " Enabled")),
    status,
    el("div", { class: "toolbar" },
      el("button", { type: "button", class: "server-test", text: "Test connection", onclick: () => onTest(box, status) }),
      el("button", { type: "button", text: "Remove", onclick: () => box.remove() })));
  return box;
}

function readServer(box) {
  const value = (key) => $(`[data-key='${key}']`, box).value.trim();
  return {
    name: value("name"), kind: value("kind"), url: value("url"), api_key: value("api_key"),
    username: value("username"), password: value("password"), remote_root: value("remote_root"),
    libraries: parseLibraries($("[data-key='libraries']", box).value),
    enabled: $("[data-key='enabled']", box).checked,
  };
}

export class IntegrationsPanel {
  constructor({ startedJob }) {
    this.startedJob = startedJob;
    $("[data-open='dlg-integrations']").addEventListener("click", () => this.load());
    $("#server-add").addEventListener("click", () => $("#servers-list").append(
      serverBox({ kind: "komga", enabled: true }, null, (box, status) => this.test(box, status))));
    $("#integrations-save").addEventListener("click", () => this.save());
    $("#notify-test").addEventListener("click", () => this.sendTest());
    $("#check-run").addEventListener("click", () => this.check());
  }

  // Adding or saving waits for the stored settings: a form saved before they arrive would wipe them.
  ready(loaded) {
    $("#integrations-form").dataset.loaded = loaded ? "1" : "";
    for (const id of ["#server-add", "#integrations-save"]) $(id).disabled = !loaded;
  }

  async load() {
    $("#integrations-error").textContent = "";
    this.ready(false);
    try {
      this.show(await get("/api/integrations"));
      this.ready(true);
    } catch (err) {
      $("#integrations-error").textContent = err.message;
    }
  }

  show(data) {
    const states = Object.fromEntries(data.server_states.map((s) => [s.name, s]));
    $("#servers-list").replaceChildren(...data.reader_servers.map(
      (s) => serverBox(s, states[s.name], (box, status) => this.test(box, status))));
    $("#int-debounce").value = data.reader_debounce;
    $("#int-urls").value = data.notify_urls.join("\n");
    for (const box of $$("[data-event]")) box.checked = Boolean(data.notify_events[box.dataset.event]);
    $("#int-group").value = data.notify_group_seconds;
  }

  form() {
    return {
      reader_servers: $$("#servers-list fieldset.server").map(readServer),
      reader_debounce: Number($("#int-debounce").value),
      notify_urls: $("#int-urls").value.split("\n").map((u) => u.trim()).filter(Boolean),
      notify_events: Object.fromEntries($$("[data-event]").map((b) => [b.dataset.event, b.checked])),
      notify_group_seconds: Number($("#int-group").value),
    };
  }

  async save() {
    $("#integrations-error").textContent = "";
    try {
      this.show(await put("/api/integrations", this.form()));
      toast("Reader servers and notifications saved");
    } catch (err) {
      $("#integrations-error").textContent = err.message;
    }
  }

  async test(box, status) {
    const server = readServer(box);
    status.textContent = "Testing…";
    try {
      const result = await post("/api/integrations/servers/test", { name: server.name, server });
      const where = (folder) => (folder === null ? "not here" : folder === "" ? "the whole library" : folder);
      const libs = result.libraries.map((l) => `${l.name} (${l.id}) → ${where(l.folder)}`);
      status.textContent = [result.message, ...libs].join("; ");
    } catch (err) {
      status.textContent = err.message;
    }
  }

  async sendTest() {
    $("#integrations-result").textContent = "Sending…";
    try {
      const { results } = await post("/api/integrations/notify/test");
      $("#integrations-result").textContent = results.map((r) => `${r.url}: ${r.ok ? "sent" : "failed"}`).join("; ");
    } catch (err) {
      $("#integrations-result").textContent = err.message;
    }
  }

  async check() {
    const out = $("#check-result");
    out.textContent = "Reading every archive's tags…";
    try {
      const report = await get("/api/check");
      out.replaceChildren(el("p", { text: `${report.files} files in ${report.folders} folders: ${report.findings.length} findings` }),
        el("ul", { class: "findings" }, ...report.findings.map((f) => this.finding(f))));
    } catch (err) {
      out.textContent = err.message;
    }
  }

  finding(f) {
    const item = el("li", { class: "finding", "data-kind": f.kind },
      el("strong", { text: f.folder || "(library root)" }), ` ${f.message}`);
    if (f.paths.length) {
      item.append(el("details", {}, el("summary", { text: `${f.paths.length} file(s)` }),
        el("ul", {}, ...f.paths.map((p) => el("li", { text: p })))));
    }
    if (f.fix) {
      const label = f.fix.action === "normalize" ? "Normalize this folder"
        : `Set ${Object.entries(f.fix.tags).map(([k, v]) => `${k} = ${v}`).join(", ")} on this folder`;
      item.append(el("button", { type: "button", class: "fix", text: label, onclick: () => this.fix(f) }));
    }
    return item;
  }

  async fix(f) {
    try {
      const job = await post("/api/check/fix", { folder: f.folder, ...f.fix });
      toast(`Job ${job.id} started for ${f.folder}`);
      this.startedJob(job);
    } catch (err) {
      toast(err.message, "error");
    }
  }
}
