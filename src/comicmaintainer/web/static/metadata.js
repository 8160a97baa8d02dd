// The series metadata panel: a series' match and its source, its candidates (cover, year, summary)
// to choose from, a pasted id or page address to pin, a preview of what a match writes into each
// chapter, and "match" jobs (docs/API.md, Series metadata).

import { get, post } from "./api.js";
import { $, el } from "./dom.js";
import { toast } from "./toast.js";

const STATUS = { matched: "Matched", pinned: "Pinned", needs_match: "Needs a match" };

export class MetadataPanel {
  constructor({ onJob } = {}) {
    this.onJob = onJob || (() => {});
    this.folder = null;
    document.querySelector('[data-open="dlg-metadata"]')?.addEventListener("click", () => this.loadFolders());
    $("#meta-folder").addEventListener("change", () => this.show($("#meta-folder").value));
    $("#meta-search").addEventListener("click", () => this.search());
    $("#meta-pin").addEventListener("click", () => this.pin($("#meta-pin-source").value, $("#meta-pin-id").value));
    $("#meta-clear").addEventListener("click", () => this.clear());
    $("#meta-preview").addEventListener("click", () => this.preview());
    $("#meta-match").addEventListener("click", () => this.startJob({ folders: [this.folder] }));
    $("#meta-match-all").addEventListener("click", () => this.startJob({ all: true }));
    $("#meta-kind").addEventListener("change", () => this.setKind($("#meta-kind").value || null));
  }

  async loadFolders() {
    try {
      const { folders } = await get("/api/folders");
      const select = $("#meta-folder");
      select.replaceChildren(...folders.filter((f) => f.folder).map((f) => el("option", { value: f.folder, text: f.folder })));
      if (select.value) await this.show(select.value);
    } catch (err) {
      toast(err.message, "error");
    }
  }

  async show(folder) {
    this.folder = folder;
    $("#meta-writes").replaceChildren();
    try {
      this.render(await get("/api/metadata/series/detail", { folder }));
    } catch (err) {
      toast(err.message, "error");
    }
  }

  render(series) {
    $("#meta-kind").value = series.kind;
    const record = series.record;
    const status = series.status ? STATUS[series.status] : "Not matched yet";
    const current = [el("strong", { id: "meta-status", text: status })];
    if (record) {
      current.push(" – ", el("span", { id: "meta-title", text: `${record.title} (${record.year ?? "?"})` }), " from ",
        el("a", { href: record.web || "#", rel: "noopener noreferrer", target: "_blank", text: series.source }));
      if (record.summary) current.push(el("p", { class: "muted", text: record.summary }));
    }
    $("#meta-current").replaceChildren(...current);
    this.renderCandidates(series.candidates);
  }

  renderCandidates(candidates) {
    const list = $("#meta-candidates");
    if (!candidates.length) {
      list.replaceChildren(el("li", { class: "muted", text: "No candidates. Search, or paste an id or address." }));
      return;
    }
    list.replaceChildren(...candidates.map((c) => this.candidate(c)));
  }

  candidate(c) {
    const cover = c.cover_url
      ? el("img", { class: "meta-cover", alt: `Cover of ${c.title}`, width: 64, height: 96, loading: "lazy",
        src: `api/metadata/cover?folder=${encodeURIComponent(this.folder)}&source=${c.source}&id=${encodeURIComponent(c.id)}` })
      : el("span", { class: "meta-cover" });
    const summary = (c.summary || "").slice(0, 240);
    return el("li", { class: "meta-candidate" }, cover,
      el("div", {},
        el("strong", { text: c.title }), ` (${c.year ?? "year unknown"}) · ${c.source} · ${c.count ?? "?"} chapters · score ${c.score ?? "–"}`,
        el("p", { class: "muted", text: summary }),
      ),
      el("button", { type: "button", class: "meta-choose", text: "Choose", onclick: () => this.pin(c.source, c.id) }));
  }

  async search() {
    try {
      const { candidates } = await post("/api/metadata/series/search", { folder: this.folder });
      this.renderCandidates(candidates);
    } catch (err) {
      toast(err.message, "error");
    }
  }

  async pin(source, id) {
    if (!id.trim()) return toast("Paste a source id or the series' page address.", "error");
    try {
      this.render(await post("/api/metadata/series/pin", { folder: this.folder, source: source || null, id: id.trim() }));
      toast(`${this.folder}: pinned; its chapters are being written.`);
      this.onJob();
    } catch (err) {
      toast(err.message, "error");
    }
  }

  // What a match job would write, chapter by chapter (a series not matched yet is looked up first).
  async preview() {
    const list = $("#meta-writes");
    list.replaceChildren(el("li", { class: "muted", text: "Reading the chapters…" }));
    try {
      const answer = await post("/api/metadata/preview", { folder: this.folder });
      if (answer.match) this.render(answer.match);
      const items = answer.chapters.map((c) => this.writes(c));
      if (answer.total > answer.chapters.length) {
        items.push(el("li", { class: "muted", text: `and ${answer.total - answer.chapters.length} more chapters` }));
      }
      list.replaceChildren(...(items.length ? items : [el("li", { class: "muted", text: "No chapters in this folder." })]));
    } catch (err) {
      list.replaceChildren();
      toast(err.message, "error");
    }
  }

  writes(chapter) {
    const name = el("strong", { text: chapter.path.split("/").pop() });
    const fields = Object.entries(chapter.tags_after);
    if (!fields.length) return el("li", { class: "meta-write" }, name, " – ", chapter.message || "nothing to write");
    return el("li", { class: "meta-write" }, name,
      el("dl", {}, ...fields.flatMap(([field, value]) => [
        el("dt", { text: field }),
        el("dd", { text: `${chapter.tags_before[field] ?? "(empty)"} → ${value}` }),
      ])));
  }

  async clear() {
    try {
      this.render(await post("/api/metadata/series/clear", { folder: this.folder }));
    } catch (err) {
      toast(err.message, "error");
    }
  }

  async setKind(kind) {
    try {
      this.render(await post("/api/metadata/series/kind", { folder: this.folder, kind }));
    } catch (err) {
      toast(err.message, "error");
    }
  }

  async startJob(body) {
    try {
      const job = await post("/api/metadata/match", body);
      toast(`Match job #${job.id} started: ${job.total} chapters.`);
      this.onJob(job);
    } catch (err) {
      toast(err.message, "error");
    }
  }
}
