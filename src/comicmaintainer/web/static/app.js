// Entry point: loads preferences, wires the library view, the jobs panel, the live stream and the
// header tools together. `window.__cm` exposes the parts to the end-to-end tests and benchmarks.

import { showAccount } from "./account.js";
import { del, get, post } from "./api.js";
import { confirmDelete, openBatchEditor, openPreview, openTagEditor } from "./dialogs.js";
import { $ } from "./dom.js";
import { IntegrationsPanel } from "./integrations.js";
import { JobsPanel } from "./jobs.js";
import { Library } from "./library.js";
import { MetadataPanel } from "./metadata.js";
import { LiveStream } from "./stream.js";
import { setupNotifyButton, toast } from "./toast.js";
import { applyTheme, Tools } from "./tools.js";

window.__cm = { lastLoadMs: 0 };

const LIVE_TEXT = { live: "LIVE", reconnecting: "Reconnecting", connecting: "Connecting" };
const MODES = { process: "full", rename: "rename", normalize: "normalize" };

function showConnection(state) {
  $("#live").dataset.state = state;
  $("#live-text").textContent = LIVE_TEXT[state] || state;
  $("#conn-banner").hidden = state !== "reconnecting";
}

async function startJob(jobs, body) {
  try {
    const job = await post("/api/jobs", body);
    jobs.started(job);
    toast(`Job #${job.id} started: ${job.total} files.`);
  } catch (err) {
    toast(err.message, "error");
  }
}

// Run `then` once, when the job `id` has finished (the jobs panel announces every end it sees). A
// short job can end on the stream before its POST is answered: then it has finished already.
function afterJob(jobs, id, then) {
  if (jobs.hasFinished(id)) {
    then();
    return;
  }
  const onEnd = (ev) => {
    if (ev.detail.id !== id) return;
    document.removeEventListener("cm:job-finished", onEnd);
    then();
  };
  document.addEventListener("cm:job-finished", onEnd);
}

function fileActions(library, jobs) {
  return async (act, file) => {
    if (act in MODES) {
      // The server answers with a job of one item: the jobs panel follows it and announces its end,
      // and then the list is drawn again (the file may have a new name, or have been set aside).
      try {
        const job = await post("/api/files/process", { path: file.path, mode: MODES[act] });
        afterJob(jobs, job.id, () => library.load());
        jobs.started(job);
      } catch (err) {
        toast(err.message, "error");
      }
    } else if (act === "preview") {
      openPreview([file.path], (paths) => startJob(jobs, { kind: "process", scope: "selected", paths }));
    } else if (act === "tags") {
      openTagEditor(file);
    } else if (act === "delete" && (await confirmDelete(file))) {
      try {
        await del("/api/files", { path: file.path });
        toast(`Deleted ${file.name}.`);
      } catch (err) {
        toast(err.message, "error");
      }
      library.load();
    }
  };
}

function bindSelectionActions(library, jobs) {
  const selectedBody = (kind, extra = {}) =>
    library.allMode ? { kind, scope: "all", ...extra } : { kind, scope: "selected", paths: library.selectedPaths(), ...extra };
  $("#process-all").addEventListener("click", () => startJob(jobs, { kind: "process", scope: "all" }));
  $("#process-selected").addEventListener("click", () => startJob(jobs, selectedBody("process")));
  $("#preview-selected").addEventListener("click", () =>
    openPreview(library.selectedPaths(), (paths) => startJob(jobs, { kind: "process", scope: "selected", paths })),
  );
  $("#batch-edit").addEventListener("click", () =>
    openBatchEditor(library.selectedCount(), (tags) => startJob(jobs, selectedBody("tag_update", { tags }))),
  );
}

function streamHandlers(library, jobs) {
  return {
    job_updated: (d) => jobs.onJobUpdated(d),
    job_item: (d) => jobs.onJobItem(d),
    // A renamed folder moves every row under it: the list is fetched again rather than patched.
    file_changed: (d) => (d.change === "folder_renamed" ? library.load() : library.onFileChanged(d)),
    watcher_status: (d) => {
      $("#watcher-state").textContent = `Watcher: ${d.state}`;
    },
    settings_changed: () => toast("Settings were changed."),
    resync: () => {
      library.load();
      library.loadFolders();
      jobs.load();
    },
  };
}

async function main() {
  let prefs = {};
  try {
    prefs = await get("/api/preferences");
  } catch {
    // Defaults are fine; the list below reports a server that cannot be reached.
  }
  applyTheme(prefs.theme);
  const jobs = new JobsPanel();
  const library = new Library(prefs, {});
  library.handlers.fileAction = fileActions(library, jobs);
  const stream = new LiveStream(streamHandlers(library, jobs), showConnection);
  const background = {
    quiet: () => (stream.stop(), library.covers.pause()),
    resume: () => (stream.start(), library.covers.resume()),
  };
  window.__cm.account = showAccount(background); // not awaited: the list need not wait for it
  Object.assign(window.__cm, { library, jobs, stream });
  stream.start();
  bindSelectionActions(library, jobs);
  new Tools({
    samplePath: () => library.files.keys().next().value,
    onScanned: () => library.load(),
    processUnprocessed: () => startJob(jobs, { kind: "process", scope: "unprocessed" }),
  });
  window.__cm.integrations = new IntegrationsPanel({ startedJob: (job) => jobs.started(job) });
  new MetadataPanel({ onJob: () => jobs.load().catch(() => {}) });
  setupNotifyButton();
  document.addEventListener("cm:job-finished", () => library.refreshCounts());
  await Promise.all([library.load(), library.loadFolders(), jobs.load().catch((err) => toast(err.message, "error"))]);
  window.__cm.readyAt = performance.now(); // ms since navigation started
  document.documentElement.dataset.ready = "1";
}

main();
