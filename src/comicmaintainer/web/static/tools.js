// The header menu and what it opens: settings (with a live preview of the next name), the log
// viewer, history with undo, the library scan, and the theme (stored server-side).

import { get, post, put } from "./api.js";
import { $, $$, debounce, el, esc, fmtDate } from "./dom.js";
import { toast } from "./toast.js";

const NUMBER_KEYS = [
  "issue_padding", "volume_padding", "polling_interval", "quiet_period", "log_max_bytes", "job_retention_days",
];
const BOOL_KEYS = ["watcher_enabled", "watcher_polling", "convert_cbr_to_cbz", "number_volumes"];
// The templates, one per kind of book, and the title template; each change is previewed.
const TEXT_KEYS = ["filename_format", "volume_format", "range_format", "part_format", "special_format", "title_format"];
const PREVIEW_KEYS = [...TEXT_KEYS, "issue_padding", "volume_padding"];
const LOG_POLL_MS = 2000;

export function applyTheme(theme) {
  const dark = theme === "dark";
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  $("#theme-toggle").textContent = dark ? "Light theme" : "Dark theme";
}

export class Tools {
  constructor({ samplePath, onScanned, processUnprocessed }) {
    this.samplePath = samplePath;
    this.onScanned = onScanned;
    this.processUnprocessed = processUnprocessed;
    this.settings = null;
    this.logTimer = 0;
    this.previewLater = debounce(() => this.preview(), 250);
    this.bindMenu();
    this.bindSettings();
    this.bindLogs();
    $("#scan-run").addEventListener("click", () => this.scan());
    $("#scan-process").addEventListener("click", () => this.processUnprocessed());
    $("#theme-toggle").addEventListener("click", () => this.toggleTheme());
  }

  bindMenu() {
    const button = $("#menu-button");
    const menu = $("#tools-menu");
    const setOpen = (open) => {
      menu.hidden = !open;
      button.setAttribute("aria-expanded", String(open));
    };
    button.addEventListener("click", () => {
      setOpen(menu.hidden);
      if (!menu.hidden) menu.querySelector("button").focus();
    });
    menu.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        setOpen(false);
        button.focus();
      }
    });
    document.addEventListener("click", (ev) => {
      if (!menu.hidden && !ev.target.closest(".menu-wrap")) setOpen(false);
    });
    $("#theme-toggle").addEventListener("click", () => setOpen(false));
    for (const item of $$("[data-open]", menu)) {
      item.addEventListener("click", () => {
        setOpen(false);
        this.open(item.dataset.open);
      });
    }
  }

  open(id) {
    const dialog = $(`#${id}`);
    dialog.showModal();
    if (id === "dlg-settings") this.loadSettings();
    if (id === "dlg-logs") this.followLogs();
    if (id === "dlg-history") this.loadHistory();
  }

  async toggleTheme() {
    const theme = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    applyTheme(theme);
    try {
      await put("/api/preferences", { theme });
    } catch (err) {
      toast(`The theme was not saved: ${err.message}`, "error");
    }
  }

  // --- settings ----------------------------------------------------------------------------

  bindSettings() {
    const form = $("#settings-form");
    form.addEventListener("input", (ev) => {
      if (PREVIEW_KEYS.includes(ev.target.name)) this.previewLater();
    });
    $("#settings-save").addEventListener("click", () => this.saveSettings());
  }

  async loadSettings() {
    $("#settings-error").textContent = "";
    try {
      this.settings = await get("/api/settings");
    } catch (err) {
      $("#settings-error").textContent = err.message;
      return;
    }
    this.showRestartNote();
    const form = $("#settings-form");
    for (const [k, v] of Object.entries(this.settings)) {
      const input = form.elements.namedItem(k);
      if (!input) continue;
      if (input.type === "checkbox") input.checked = !!v;
      else input.value = v ?? "";
    }
    this.preview();
  }

  formValues() {
    const form = $("#settings-form");
    const values = {};
    for (const k of TEXT_KEYS) values[k] = form.elements.namedItem(k).value;
    for (const k of NUMBER_KEYS) values[k] = Number(form.elements.namedItem(k).value);
    for (const k of BOOL_KEYS) values[k] = form.elements.namedItem(k).checked;
    return values;
  }

  async preview() {
    const v = this.formValues();
    const out = $("#set-preview");
    const kinds = $("#set-kind-previews");
    const body = {};
    for (const k of PREVIEW_KEYS) body[k] = v[k];
    const sample = this.samplePath();
    if (sample) body.path = sample;
    try {
      const res = await post("/api/settings/preview", body);
      out.textContent = res.path ? `${res.path} → ${res.name}` : res.name;
      out.classList.remove("error");
      kinds.replaceChildren(...res.kinds.map((k) => el("span", { class: "kind-preview" },
        `${k.kind}: ${k.path.split("/").pop()} → ${k.name}${k.title ? ` (Title: ${k.title})` : ""}`)));
      kinds.classList.remove("error");
    } catch (err) {
      out.textContent = err.message;
      out.classList.add("error");
      kinds.replaceChildren();
    }
  }

  async saveSettings() {
    const values = this.formValues();
    const changed = {};
    for (const [k, v] of Object.entries(values)) if (!this.settings || this.settings[k] !== v) changed[k] = v;
    if (!Object.keys(changed).length) {
      toast("No setting was changed.");
      return;
    }
    try {
      this.settings = await put("/api/settings", changed);
    } catch (err) {
      $("#settings-error").textContent = err.message;
      return;
    }
    $("#settings-error").textContent = "";
    const waiting = this.settings.restart_required || [];
    const later = Object.keys(changed).filter((k) => waiting.includes(k));
    if (later.length) {
      // Saved, but not in effect yet: keep the panel open on the note that says so.
      this.showRestartNote();
      toast(`Settings saved; ${later.join(", ")} take effect after a restart.`);
      return;
    }
    toast("Settings saved; they apply now.");
    $("#dlg-settings").close();
  }

  // Settings the service takes only at its next start (every other one applies at once).
  showRestartNote() {
    const note = $("#settings-restart");
    const waiting = (this.settings && this.settings.restart_required) || [];
    note.hidden = !waiting.length;
    note.textContent = waiting.length ? `Saved, in effect after the service restarts: ${waiting.join(", ")}.` : "";
  }

  // --- log viewer ----------------------------------------------------------------------------

  bindLogs() {
    $("#log-level").addEventListener("change", () => this.loadLogs());
    $("#log-follow").addEventListener("change", () => this.followLogs());
    $("#dlg-logs").addEventListener("close", () => clearInterval(this.logTimer));
  }

  followLogs() {
    clearInterval(this.logTimer);
    this.loadLogs();
    // There is no log event on the stream; while the viewer is open it asks again every 2 s.
    if ($("#log-follow").checked) this.logTimer = setInterval(() => this.loadLogs(), LOG_POLL_MS);
  }

  async loadLogs() {
    const pre = $("#log-lines");
    try {
      const { lines } = await get("/api/logs", { lines: 300, level: $("#log-level").value });
      const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.textContent = lines.join("\n") || "(no log lines)";
      if (atBottom || $("#log-follow").checked) pre.scrollTop = pre.scrollHeight;
    } catch (err) {
      pre.textContent = err.message;
    }
  }

  // --- history and undo ----------------------------------------------------------------------

  async loadHistory() {
    const body = $("#history-body");
    let actions;
    try {
      ({ actions } = await get("/api/history", { limit: 100 }));
    } catch (err) {
      body.replaceChildren(el("p", { class: "error" }, err.message));
      return;
    }
    if (!actions.length) {
      body.replaceChildren(el("p", { class: "muted" }, "No changes recorded yet."));
      return;
    }
    const rows = actions.map((a) => {
      const undo = a.state === "done" || a.undoable
        ? `<button type="button" data-undo="${a.id}" aria-label="Undo change ${a.id}">Undo</button>` : "";
      const paths = a.old_path && a.new_path && a.old_path !== a.new_path
        ? `${esc(a.old_path)} → ${esc(a.new_path)}` : esc(a.new_path || a.old_path || "");
      return `<tr><td>${fmtDate(a.at)}</td><td>${esc(a.kind)}</td><td>${paths}</td><td>${esc(a.state ?? "")}</td><td>${undo}</td></tr>`;
    });
    body.innerHTML = `<table class="data"><caption class="sr-only">Recorded changes</caption>
<thead><tr><th scope="col">When</th><th scope="col">Change</th><th scope="col">File</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody>${rows.join("")}</tbody></table>`;
    for (const b of $$("[data-undo]", body)) b.addEventListener("click", () => this.undo(b.dataset.undo));
  }

  async undo(id) {
    try {
      const { message } = await post(`/api/history/${id}/undo`);
      toast(message || "Undone.");
    } catch (err) {
      toast(err.message, "error");
    }
    this.loadHistory();
  }

  // --- scan -----------------------------------------------------------------------------------

  async scan() {
    const out = $("#scan-result");
    out.textContent = "Scanning…";
    try {
      const r = await post("/api/scan");
      const c = r.counts || {};
      out.innerHTML = `<p>Added ${r.added ?? 0}, changed ${r.changed ?? 0}, moved ${r.moved ?? 0}, removed ${r.removed ?? 0}.</p>
<p><strong>${c.unprocessed ?? 0}</strong> unprocessed, ${c.processed ?? 0} processed, ${c.duplicates ?? 0} duplicates,
${c.needs_attention ?? 0} need attention.</p>`;
      this.onScanned();
    } catch (err) {
      out.textContent = err.message;
    }
  }
}
