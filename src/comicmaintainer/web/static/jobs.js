// The jobs panel: the job being watched (bar, counts, current file, ETA, failures as they happen),
// Cancel / Retry failed, and the list of running and recent jobs.
//
// Events only update plain objects; the DOM is written at most once per animation frame, so a job
// of 10,000 items costs the same number of DOM writes as a job of 100 per second of wall time.

import { get, post } from "./api.js";
import { $, el, fmtDuration, perFrame } from "./dom.js";
import { notify, toast } from "./toast.js";

const FINAL = new Set(["completed", "finished", "failed", "cancelled"]);
const KIND_NAMES = { process: "Process", rename: "Rename", normalize: "Normalize", tag_update: "Tag update" };
const MAX_SHOWN_FAILURES = 200;
const MAX_LISTED_JOBS = 12;

export const isFinal = (job) => FINAL.has(job.status);

// Counters only grow and a finished job stays finished, so a snapshot going backwards is old news.
function isStale(job, old) {
  if (isFinal(old)) return !isFinal(job);
  return (job.processed ?? 0) < (old.processed ?? 0);
}

export class JobsPanel {
  constructor() {
    this.jobs = new Map(); // id -> job snapshot
    this.currentId = null;
    this.failures = new Map(); // job id -> [{item_id, path, error}]
    this.seenItems = new Map(); // job id -> Set of item ids (replays must not count twice)
    this.itemEvents = new Map(); // job id -> job_item events received, duplicates included (for tests)
    this.shownFailures = 0;
    this.mine = new Set(); // jobs started from this tab: their end is announced even if missed running
    this.toasted = new Set();
    this.listDirty = true;
    this.render = perFrame(() => this.draw());
    $("#job-cancel").addEventListener("click", () => this.cancel());
    $("#job-retry").addEventListener("click", () => this.retry());
    $("#job-list").addEventListener("click", (ev) => this.onListClick(ev));
  }

  async load() {
    const { jobs } = await get("/api/jobs");
    this.jobs.clear();
    for (const job of jobs.slice(0, 50)) this.jobs.set(job.id, job);
    const running = jobs.find((j) => !isFinal(j));
    const keep = this.currentId !== null && this.jobs.has(this.currentId) ? this.currentId : null;
    const id = keep ?? (running ? running.id : null);
    if (id !== null) await this.watch(id);
    this.listDirty = true;
    this.render();
  }

  async watch(id) {
    this.currentId = id;
    this.shownFailures = 0;
    $("#job-failures").replaceChildren();
    try {
      const [job, items] = await Promise.all([
        get(`/api/jobs/${id}`),
        get(`/api/jobs/${id}/items`, { status: "failed", limit: MAX_SHOWN_FAILURES }),
      ]);
      this.merge(job);
      const list = this.failuresOf(id);
      const seen = this.seen(id);
      for (const item of items.items) {
        if (seen.has(item.id)) continue;
        seen.add(item.id);
        list.push({ item_id: item.id, path: item.path, error: item.error });
      }
    } catch (err) {
      toast(err.message, "error");
    }
    this.render();
  }

  started(job) {
    this.mine.add(job.id);
    const known = this.merge(job);
    // Its end may have come down the stream before this answer: it still gets its toast.
    if (isFinal(known)) this.finished(known);
    this.watch(job.id);
  }

  merge(job) {
    const old = this.jobs.get(job.id);
    if (old && isStale(job, old)) {
      // A snapshot older than what the stream already told us (a POST answer that lost the race
      // with the job's own events): take only the fields we did not know yet.
      for (const [k, v] of Object.entries(job)) if (!(k in old)) old[k] = v;
      return old;
    }
    const wasRunning = old && !isFinal(old);
    const next = { ...(old || {}), ...job };
    this.jobs.set(job.id, next);
    if (!old || old.status !== next.status) this.listDirty = true;
    if (isFinal(next) && (wasRunning || this.mine.has(next.id))) this.finished(next);
    return next;
  }

  onJobUpdated(data) {
    const job = this.merge({ ...data, id: data.job_id });
    delete job.job_id;
    const current = this.currentId === null ? null : this.jobs.get(this.currentId);
    // A new job (from another tab, the watcher) takes the panel unless one is still running here.
    if (!isFinal(job) && (!current || isFinal(current)) && this.currentId !== job.id) this.watch(job.id);
    this.render();
  }

  onJobItem(data) {
    const id = data.job_id;
    this.itemEvents.set(id, (this.itemEvents.get(id) || 0) + 1);
    const seen = this.seen(id);
    if (seen.has(data.item_id)) return;
    seen.add(data.item_id);
    if (data.outcome === "failed") {
      this.failuresOf(id).push({ item_id: data.item_id, path: data.path, error: data.error });
      if (id === this.currentId) this.render();
    }
  }

  seen(id) {
    if (!this.seenItems.has(id)) this.seenItems.set(id, new Set());
    return this.seenItems.get(id);
  }

  failuresOf(id) {
    if (!this.failures.has(id)) this.failures.set(id, []);
    return this.failures.get(id);
  }

  hasFinished(id) {
    return this.toasted.has(id);
  }

  finished(job) {
    if (this.toasted.has(job.id)) return;
    this.toasted.add(job.id);
    const name = `${KIND_NAMES[job.kind] || "Job"} #${job.id}`;
    const text = `${name} ${job.status}: ${job.succeeded ?? 0} succeeded, ${job.failed ?? 0} failed.`;
    toast(text, job.failed ? "error" : "info");
    notify("ComicMaintainer", text);
    document.dispatchEvent(new CustomEvent("cm:job-finished", { detail: job }));
  }

  async cancel() {
    if (this.currentId === null) return;
    try {
      this.merge(await post(`/api/jobs/${this.currentId}/cancel`));
    } catch (err) {
      toast(err.message, "error");
    }
    this.render();
  }

  async retry(id = this.currentId) {
    if (id === null) return;
    try {
      this.started(await post(`/api/jobs/${id}/retry`));
    } catch (err) {
      toast(err.message, "error");
    }
  }

  onListClick(ev) {
    const button = ev.target.closest("button[data-job]");
    if (button) this.watch(Number(button.dataset.job));
  }

  draw() {
    this.drawCurrent();
    if (this.listDirty) this.drawList();
  }

  drawCurrent() {
    const job = this.currentId === null ? null : this.jobs.get(this.currentId);
    $("#job-current").hidden = !job;
    $("#job-empty").hidden = !!job;
    if (!job) return;
    const total = job.total || 0;
    const processed = job.processed || 0;
    const pct = job.percentage ?? (total ? (100 * processed) / total : 0);
    $("#job-title").textContent = `${KIND_NAMES[job.kind] || "Job"} #${job.id}`;
    $("#job-status").textContent = job.status;
    $("#job-progress").value = Math.min(100, pct);
    $("#job-percent").textContent = `${Math.floor(pct)}%`;
    $("#job-count").textContent = `${processed} / ${total}`;
    $("#job-succeeded").textContent = job.succeeded ?? 0;
    $("#job-failed").textContent = job.failed ?? 0;
    $("#job-skipped").textContent = job.skipped ?? 0;
    $("#job-eta").textContent = isFinal(job) ? "–" : fmtDuration(job.eta_seconds);
    $("#job-file").textContent = isFinal(job) ? "–" : job.current_file || "–";
    $("#job-stage").textContent = !isFinal(job) && job.stage ? `(${job.stage})` : "";
    $("#job-cancel").disabled = isFinal(job);
    $("#job-retry").disabled = !isFinal(job) || !job.failed;
    this.drawFailures();
  }

  // Appends only the failures not shown yet: the list grows without re-rendering.
  drawFailures() {
    const list = this.failuresOf(this.currentId);
    const ul = $("#job-failures");
    const upto = Math.min(list.length, MAX_SHOWN_FAILURES);
    const frag = document.createDocumentFragment();
    for (let i = this.shownFailures; i < upto; i += 1) {
      const f = list[i];
      frag.append(el("li", {}, el("strong", {}, f.path), ": ", f.error || "failed"));
    }
    if (upto > this.shownFailures) ul.append(frag);
    this.shownFailures = upto;
  }

  drawList() {
    this.listDirty = false;
    const jobs = [...this.jobs.values()].sort((a, b) => b.id - a.id).slice(0, MAX_LISTED_JOBS);
    $("#job-list").replaceChildren(
      ...jobs.map((job) =>
        el(
          "li",
          { "data-job-row": job.id },
          el("span", {}, `#${job.id} ${KIND_NAMES[job.kind] || job.kind}: ${job.status}`,
            isFinal(job) ? ` (${job.succeeded ?? 0} ok, ${job.failed ?? 0} failed)` : ""),
          el("button", { type: "button", "data-job": job.id, "aria-label": `Show job ${job.id}` }, "Show"),
        ),
      ),
    );
  }
}
