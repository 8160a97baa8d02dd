// The library view: files grouped by folder, search / filter / sort / pages kept in the URL,
// selection that survives paging and live row updates, and the per-file actions.

import { appUrl, get, put } from "./api.js";
import { CoverLoader } from "./covers.js";
import { $, $$, debounce, esc, fmtDate, fmtSize, perFrame } from "./dom.js";
import { fillIcons, icon } from "./icons.js";
import { toast } from "./toast.js";

export const STATUS = {
  processed: "Processed",
  unprocessed: "Unprocessed",
  duplicate: "Duplicate",
  needs_attention: "Needs attention",
};
const FILTERS = ["all", "processed", "unprocessed", "duplicates", "needs_attention"];
const SORTS = ["folder", "name", "date", "size"];
const ROW_ACTIONS = [
  ["process", "Process"],
  ["rename", "Rename"],
  ["normalize", "Normalize"],
  ["preview", "Preview"],
  ["tags", "Edit tags"],
  ["delete", "Delete"],
];
const GATHER_LIMIT = 20000;

export const coverUrl = (path) => `${appUrl("/api/files/cover")}?path=${encodeURIComponent(path)}`;

function readUrl(defaults) {
  const q = new URLSearchParams(location.search);
  const num = (k, d) => (Number.parseInt(q.get(k), 10) > 0 ? Number.parseInt(q.get(k), 10) : d);
  const pick = (k, allowed, d) => (allowed.includes(q.get(k)) ? q.get(k) : d);
  return {
    page: num("page", 1),
    per_page: num("per_page", defaults.per_page),
    search: q.get("q") || "",
    filter: pick("filter", FILTERS, defaults.filter),
    sort: pick("sort", SORTS, "folder"),
    direction: pick("dir", ["asc", "desc"], "asc"),
  };
}

function rowHtml(file, selected, i, covers) {
  const label = esc(STATUS[file.status] || file.status);
  const name = esc(file.name);
  const err = file.error ? `<span class="err">${esc(file.error)}</span>` : "";
  const dup = file.duplicate_of ? `<span class="err">duplicate of ${esc(file.duplicate_of)}</span>` : "";
  const buttons = ROW_ACTIONS.map(
    ([act, label]) => `<button type="button" data-act="${act}" aria-label="${label} ${name}">${label}</button>`,
  ).join("");
  return `<li class="file" data-path="${esc(file.path)}" data-folder="${esc(file.folder)}" data-status="${esc(file.status)}">
<input type="checkbox" class="pick" id="pick-${i}" aria-label="Select ${name}"${selected ? " checked" : ""}>
${covers.html(file, esc)}
<span class="status" title="${label}">${icon(file.status)}<span class="sr-only">${label}</span></span>
<span class="name">${name}${err}${dup}</span>
<span class="size">${fmtSize(file.size)}</span>
<time datetime="${new Date((file.mtime || 0) * 1000).toISOString()}">${fmtDate(file.mtime)}</time>
<span class="row-actions">${buttons}</span></li>`;
}

export class Library {
  constructor(prefs, handlers) {
    this.prefs = prefs;
    this.handlers = handlers; // { fileAction(act, file) }
    this.state = readUrl({ per_page: prefs.per_page || 50, filter: prefs.last_filter || "all" });
    this.data = null;
    this.files = new Map(); // path -> file row on this page
    this.selection = new Map(); // path -> folder
    this.selectedPerFolder = new Map(); // folder -> how many of its files are selected
    this.allMode = false; // "everything" chosen with no filter or search: the job scope is "all"
    this.folderCounts = new Map();
    this.collapsed = new Set();
    this.pending = new Map(); // path -> latest file_changed not yet drawn
    this.controller = null;
    this.covers = new CoverLoader(coverUrl);
    this.seq = 0;
    this.flushChanges = perFrame(() => this.applyChanges());
    this.refreshCounts = debounce(() => this.reloadCounts(), 1200);
    this.searchLater = debounce(() => this.setState({ search: $("#search").value.trim(), page: 1 }), 300);
    this.bind();
    this.syncControls();
  }

  bind() {
    fillIcons($(".filters"));
    $("#search").addEventListener("input", () => this.searchLater());
    $("#search").addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") {
        this.searchLater.cancel();
        this.setState({ search: $("#search").value.trim(), page: 1 });
      }
    });
    for (const b of $$(".filter")) b.addEventListener("click", () => this.setFilter(b.dataset.filter));
    $("#sort").addEventListener("change", (ev) => this.setState({ sort: ev.target.value, page: 1 }));
    $("#direction").addEventListener("change", (ev) => this.setState({ direction: ev.target.value, page: 1 }));
    $("#per-page").addEventListener("change", (ev) => this.setPerPage(Number(ev.target.value)));
    $("#page-first").addEventListener("click", () => this.setState({ page: 1 }));
    $("#page-prev").addEventListener("click", () => this.setState({ page: Math.max(1, this.state.page - 1) }));
    $("#page-next").addEventListener("click", () => this.setState({ page: this.state.page + 1 }));
    $("#page-last").addEventListener("click", () => this.setState({ page: this.data ? this.data.pages : 1 }));
    $("#select-page").addEventListener("change", (ev) => this.selectPage(ev.target.checked));
    $("#select-all").addEventListener("click", () => this.selectAllMatching());
    $("#clear-selection").addEventListener("click", () => this.clearSelection());
    $("#expand-all").addEventListener("click", () => this.setAllCollapsed(false));
    $("#collapse-all").addEventListener("click", () => this.setAllCollapsed(true));
    const list = $("#file-list");
    list.addEventListener("change", (ev) => this.onListChange(ev));
    list.addEventListener("click", (ev) => this.onListClick(ev));
    // A missing cover shows an empty frame rather than a broken-image icon.
    list.addEventListener("error", (ev) => ev.target.matches?.("img.cover") && (ev.target.style.visibility = "hidden"), true);
    window.addEventListener("popstate", () => {
      this.state = readUrl({ per_page: this.state.per_page, filter: "all" });
      this.syncControls();
      this.load();
    });
  }

  syncControls() {
    const s = this.state;
    $("#search").value = s.search;
    $("#sort").value = s.sort;
    $("#direction").value = s.direction;
    const per = $("#per-page");
    if (![...per.options].some((o) => Number(o.value) === s.per_page)) per.add(new Option(String(s.per_page)));
    per.value = String(s.per_page);
    for (const b of $$(".filter")) b.setAttribute("aria-pressed", String(b.dataset.filter === s.filter));
  }

  writeUrl(push) {
    const s = this.state;
    const q = new URLSearchParams();
    if (s.search) q.set("q", s.search);
    if (s.filter !== "all") q.set("filter", s.filter);
    if (s.sort !== "folder") q.set("sort", s.sort);
    if (s.direction !== "asc") q.set("dir", s.direction);
    if (s.page > 1) q.set("page", s.page);
    q.set("per_page", s.per_page);
    const url = `${location.pathname}?${q}`;
    if (url !== location.pathname + location.search) history[push ? "pushState" : "replaceState"](null, "", url);
  }

  setState(change) {
    Object.assign(this.state, change);
    this.syncControls();
    this.writeUrl(true);
    return this.load();
  }

  setFilter(filter) {
    put("/api/preferences", { last_filter: filter }).catch(() => {});
    return this.setState({ filter, page: 1 });
  }

  setPerPage(perPage) {
    put("/api/preferences", { per_page: perPage }).catch(() => {});
    return this.setState({ per_page: perPage, page: 1 });
  }

  params(extra = {}) {
    const s = this.state;
    return { page: s.page, per_page: s.per_page, search: s.search, filter: s.filter, sort: s.sort, direction: s.direction, ...extra };
  }

  async load() {
    if (this.controller) this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    const started = performance.now();
    $("#file-list").setAttribute("aria-busy", "true");
    let data;
    try {
      data = await get("/api/files", this.params(), controller.signal);
    } catch (err) {
      if (err.name === "AbortError") return;
      $("#file-list").setAttribute("aria-busy", "false");
      toast(err.message, "error");
      return;
    }
    if (data.pages && this.state.page > data.pages) {
      this.state.page = data.pages;
      this.writeUrl(false);
      return this.load();
    }
    this.data = data;
    this.render();
    this.writeUrl(false);
    this.seq += 1;
    window.__cm.lastLoadMs = performance.now() - started;
    document.documentElement.dataset.loaded = String(this.seq);
    document.dispatchEvent(new CustomEvent("cm:loaded", { detail: this.seq }));
  }

  async loadFolders() {
    try {
      const { folders } = await get("/api/folders");
      this.folderCounts = new Map(folders.map((f) => [f.folder, f.count]));
      this.updateSelectionUi();
    } catch (err) {
      toast(err.message, "error");
    }
  }

  async reloadCounts() {
    try {
      const data = await get("/api/files", this.params({ per_page: 10, page: 1 }));
      this.data.counts = data.counts;
      this.data.total = data.total;
      this.data.pages = Math.max(1, Math.ceil(data.total / this.state.per_page));
      this.drawCounts();
    } catch {
      // Counts catch up on the next change; a transient error is not worth a toast.
    }
  }

  render() {
    const data = this.data;
    this.files = new Map();
    let i = 0;
    const html = [];
    for (const group of data.groups) {
      const gid = `g-${html.length}`;
      const folder = group.folder || "";
      const title = folder || "(library root)";
      const collapsed = this.collapsed.has(folder);
      const rows = group.files.map((f) => {
        this.files.set(f.path, f);
        i += 1;
        return rowHtml(f, this.isSelected(f.path), i, this.covers);
      });
      html.push(`<section class="group" data-folder="${esc(folder)}" aria-label="Folder ${esc(title)}">
<div class="group-head"><input type="checkbox" class="folder-check" aria-label="Select every file in ${esc(title)}">
<button type="button" class="group-toggle" aria-expanded="${!collapsed}" aria-controls="${gid}">${esc(title)}</button>
<span class="muted">${group.files.length} on this page</span></div>
<ul class="files" id="${gid}"${collapsed ? " hidden" : ""}>${rows.join("")}</ul></section>`);
    }
    const list = $("#file-list");
    list.innerHTML = html.length ? html.join("") : `<p class="muted">No files match.</p>`;
    list.setAttribute("aria-busy", "false");
    this.covers.watch(list);
    this.drawCounts();
    this.updateSelectionUi();
  }

  drawCounts() {
    const d = this.data;
    for (const span of $$("[data-count]")) span.textContent = `(${d.counts[span.dataset.count] ?? 0})`;
    $("#page-info").textContent = `Page ${d.page} of ${d.pages || 1} · ${d.total} files`;
    $("#page-first").disabled = $("#page-prev").disabled = d.page <= 1;
    $("#page-last").disabled = $("#page-next").disabled = d.page >= (d.pages || 1);
    $("#list-status").textContent = this.state.search ? `${d.total} files match “${this.state.search}”` : "";
  }

  // --- selection -------------------------------------------------------------------------

  isSelected(path) {
    return this.allMode || this.selection.has(path);
  }

  select(path, folder, on) {
    if (on === this.selection.has(path)) return;
    if (on) this.selection.set(path, folder);
    else this.selection.delete(path);
    this.selectedPerFolder.set(folder, (this.selectedPerFolder.get(folder) || 0) + (on ? 1 : -1));
  }

  leaveAllMode() {
    if (!this.allMode) return;
    // Falling back from "everything" to an explicit list: keep what is visible.
    this.allMode = false;
    for (const f of this.files.values()) this.select(f.path, f.folder, true);
  }

  clearSelection() {
    this.allMode = false;
    this.selection.clear();
    this.selectedPerFolder.clear();
    for (const box of $$("#file-list .pick")) box.checked = false;
    this.updateSelectionUi();
  }

  selectPage(on) {
    this.leaveAllMode();
    for (const f of this.files.values()) this.select(f.path, f.folder, on);
    for (const box of $$("#file-list .pick")) box.checked = on;
    this.updateSelectionUi();
  }

  async selectAllMatching() {
    const s = this.state;
    if (!s.search && s.filter === "all") {
      this.allMode = true;
      for (const box of $$("#file-list .pick")) box.checked = true;
      this.updateSelectionUi();
      return;
    }
    const files = await this.gather({});
    for (const f of files) this.select(f.path, f.folder, true);
    for (const box of $$("#file-list .pick")) box.checked = true;
    this.updateSelectionUi();
  }

  // Every file matching the current search and filter (or `override`), page by page.
  async gather(override, keep = () => true) {
    const out = [];
    for (let page = 1; out.length < GATHER_LIMIT; page += 1) {
      const data = await get("/api/files", this.params({ per_page: 500, page, ...override }));
      for (const g of data.groups) for (const f of g.files) if (keep(f)) out.push(f);
      if (page >= (data.pages || 1)) break;
    }
    return out;
  }

  async selectFolder(folder, on) {
    this.leaveAllMode();
    const onPage = [...this.files.values()].filter((f) => f.folder === folder);
    let files = onPage;
    const total = this.folderCounts.get(folder);
    if (on && total !== undefined && total > onPage.length) {
      // The folder spans pages: search matches paths, so "<folder>/" finds all of it (and its
      // subfolders, which the exact-folder test drops).
      try {
        const search = folder ? `${folder}/` : "";
        files = await this.gather({ search, filter: "all", sort: "folder", direction: "asc" }, (f) => f.folder === folder);
      } catch (err) {
        toast(err.message, "error");
      }
    }
    if (!on) {
      for (const [path, f] of [...this.selection]) if (f === folder) this.select(path, folder, false);
    }
    for (const f of files) this.select(f.path, f.folder, on);
    for (const li of $$(".file", this.groupOf(folder))) li.querySelector(".pick").checked = on;
    this.updateSelectionUi();
  }

  groupOf(folder) {
    return $$("#file-list .group").find((g) => g.dataset.folder === folder);
  }

  selectedCount() {
    return this.allMode ? this.data?.counts?.all ?? 0 : this.selection.size;
  }

  selectedPaths() {
    return [...this.selection.keys()];
  }

  updateSelectionUi() {
    const n = this.selectedCount();
    $("#selection-count").textContent = this.allMode ? `All ${n} selected` : `${n} selected`;
    $("#process-selected").disabled = n === 0;
    $("#preview-selected").disabled = n === 0 || this.allMode;
    $("#batch-edit").disabled = n === 0;
    const boxes = $$("#file-list .pick");
    const checked = boxes.filter((b) => b.checked).length;
    const pageBox = $("#select-page");
    pageBox.checked = boxes.length > 0 && checked === boxes.length;
    pageBox.indeterminate = checked > 0 && checked < boxes.length;
    for (const group of $$("#file-list .group")) this.updateFolderBox(group);
  }

  updateFolderBox(group) {
    const folder = group.dataset.folder;
    const box = group.querySelector(".folder-check");
    const onPage = group.querySelectorAll(".pick").length;
    const total = Math.max(this.folderCounts.get(folder) ?? onPage, onPage);
    const chosen = this.allMode ? total : this.selectedPerFolder.get(folder) || 0;
    box.checked = chosen > 0 && chosen >= total;
    box.indeterminate = chosen > 0 && chosen < total;
    box.setAttribute("aria-checked", box.indeterminate ? "mixed" : String(box.checked));
  }

  // --- list events -------------------------------------------------------------------------

  onListChange(ev) {
    const t = ev.target;
    if (t.classList.contains("pick")) {
      this.leaveAllMode();
      const li = t.closest(".file");
      this.select(li.dataset.path, li.dataset.folder, t.checked);
      this.updateSelectionUi();
    } else if (t.classList.contains("folder-check")) {
      this.selectFolder(t.closest(".group").dataset.folder, t.checked);
    }
  }

  onListClick(ev) {
    const toggle = ev.target.closest(".group-toggle");
    if (toggle) {
      const folder = toggle.closest(".group").dataset.folder;
      this.setCollapsed(folder, toggle.getAttribute("aria-expanded") === "true");
      return;
    }
    const button = ev.target.closest("button[data-act]");
    if (button) {
      const file = this.files.get(button.closest(".file").dataset.path);
      if (file) this.handlers.fileAction(button.dataset.act, file);
    }
  }

  setCollapsed(folder, collapsed) {
    if (collapsed) this.collapsed.add(folder);
    else this.collapsed.delete(folder);
    const group = this.groupOf(folder);
    if (!group) return;
    group.querySelector(".group-toggle").setAttribute("aria-expanded", String(!collapsed));
    group.querySelector(".files").hidden = collapsed;
  }

  setAllCollapsed(collapsed) {
    for (const g of $$("#file-list .group")) this.setCollapsed(g.dataset.folder, collapsed);
  }

  // --- live updates ------------------------------------------------------------------------

  onFileChanged(data) {
    this.pending.set(data.old_path || data.path, data);
    this.flushChanges();
    this.refreshCounts();
  }

  // Applied once per frame; only rows on this page are touched, so selection, focus elsewhere and
  // scroll position stay as they are.
  applyChanges() {
    const changes = [...this.pending.values()];
    this.pending.clear();
    const rows = new Map($$("#file-list .file").map((li) => [li.dataset.path, li]));
    for (const c of changes) this.applyChange(c, rows);
    this.updateSelectionUi();
  }

  applyChange(c, rows) {
    const key = c.old_path || c.path;
    const li = rows.get(key);
    if (c.old_path && this.selection.has(c.old_path)) {
      const folder = this.selection.get(c.old_path);
      this.select(c.old_path, folder, false);
      if (c.row) this.select(c.row.path, c.row.folder, true);
    }
    if (!li) return;
    if (c.change === "deleted" || !c.row) {
      this.select(key, li.dataset.folder, false);
      this.files.delete(key);
      li.remove();
      return;
    }
    this.files.delete(key);
    this.files.set(c.row.path, c.row);
    const idx = li.querySelector(".pick").id.slice(5);
    const tpl = document.createElement("template");
    tpl.innerHTML = rowHtml(c.row, this.isSelected(c.row.path), idx, this.covers);
    const fresh = tpl.content.firstElementChild;
    fresh.classList.add("flash");
    const hadFocus = li.contains(document.activeElement) ? document.activeElement.dataset.act || "pick" : null;
    li.replaceWith(fresh);
    this.covers.watch($("#file-list"));
    if (hadFocus) (fresh.querySelector(`[data-act="${hadFocus}"]`) || fresh.querySelector(".pick")).focus();
  }
}
