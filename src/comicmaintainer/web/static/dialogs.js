// Dialogs about files: delete confirmation, the tag editor, batch tag update, and the preview of
// changes. Native <dialog> gives focus handling and Escape-to-close for free.

import { get, post, put } from "./api.js";
import { hasNoCover } from "./covers.js";
import { $, el, esc } from "./dom.js";
import { icon } from "./icons.js";
import { coverUrl } from "./library.js";
import { toast } from "./toast.js";

const TAG_GROUPS = [
  ["Story", ["Title", "Series", "Number", "Count", "Volume", "AlternateSeries", "AlternateNumber",
    "AlternateCount", "StoryArc", "StoryArcNumber", "SeriesGroup", "Summary", "Notes"]],
  ["Date", ["Year", "Month", "Day"]],
  ["Credits", ["Writer", "Penciller", "Inker", "Colorist", "Letterer", "CoverArtist", "Editor", "Translator"]],
  ["Publishing", ["Publisher", "Imprint", "Genre", "Tags", "Web", "PageCount", "LanguageISO", "Format",
    "BlackAndWhite", "Manga", "AgeRating", "GTIN"]],
  ["Cast and places", ["Characters", "Teams", "Locations", "MainCharacterOrTeam"]],
  ["Scan and review", ["ScanInformation", "Review", "CommunityRating"]],
];
const MAX_PREVIEW = 50; // the server's bound (web/api/__init__.py MAX_PREVIEW)
const LONG_FIELDS = new Set(["summary", "notes", "review"]);
export const BATCH_FIELDS = ["Series", "Publisher", "Year", "Writer", "Volume", "Genre", "Penciller", "LanguageISO"];

const norm = (key) => key.toLowerCase().replace(/_/g, "");
const labelOf = (key) => key.replace(/_/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2").replace(/^./, (c) => c.toUpperCase());

function showModal(dialog) {
  if (!dialog.open) dialog.showModal();
}

// --- delete confirmation -----------------------------------------------------------------------

export function confirmDelete(file) {
  const dialog = $("#dlg-confirm");
  $("#confirm-title").textContent = "Delete this file?";
  $("#confirm-text").textContent = `“${file.name}” in ${file.folder || "the library root"} will be moved out of the library into the trash folder of the configuration.`;
  $("#confirm-ok").textContent = `Delete ${file.name}`;
  dialog.returnValue = "";
  showModal(dialog);
  $("#confirm-cancel").focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

// --- tag editor --------------------------------------------------------------------------------

function fieldInput(key, value) {
  const id = `tag-${key}`;
  const common = { id, name: key, "data-original": value ?? "" };
  const input = LONG_FIELDS.has(norm(key))
    ? el("textarea", common)
    : el("input", { ...common, type: "text", autocomplete: "off" });
  input.value = value ?? "";
  return el("label", { class: "field" }, el("span", {}, labelOf(key)), input);
}

function tagGroups(tags) {
  const keys = Object.keys(tags);
  const byNorm = new Map(keys.map((k) => [norm(k), k]));
  const used = new Set();
  const sets = [];
  for (const [title, names] of TAG_GROUPS) {
    const present = names.map((n) => byNorm.get(norm(n))).filter(Boolean);
    present.forEach((k) => used.add(k));
    if (present.length) sets.push([title, present]);
  }
  const rest = keys.filter((k) => !used.has(k));
  if (rest.length) sets.push(["More", rest]);
  return sets.map(([title, ks]) => el("fieldset", {}, el("legend", {}, title), ks.map((k) => fieldInput(k, tags[k]))));
}

export async function openTagEditor(file, onSaved) {
  const dialog = $("#dlg-tags");
  $("#tags-title").textContent = `Edit tags: ${file.name}`;
  $("#tags-path").textContent = file.path;
  $("#tags-error").textContent = "";
  // A file that needs attention has no readable first page: asking for its cover could only fail.
  const cover = $("#tags-cover");
  cover.hidden = hasNoCover(file);
  if (cover.hidden) cover.removeAttribute("src");
  else cover.src = coverUrl(file.path);
  $("#tags-fields").replaceChildren(el("p", { class: "muted" }, "Loading tags…"));
  showModal(dialog);
  try {
    const { tags } = await get("/api/files/tags", { path: file.path });
    $("#tags-fields").replaceChildren(...tagGroups(tags));
  } catch (err) {
    $("#tags-fields").replaceChildren();
    $("#tags-error").textContent = err.message;
    return;
  }
  $("#tags-save").onclick = () => saveTags(file, onSaved);
}

async function saveTags(file, onSaved) {
  const changed = {};
  for (const input of $("#tags-fields").querySelectorAll("input, textarea")) {
    if (input.value !== input.dataset.original) changed[input.name] = input.value.trim() === "" ? null : input.value;
  }
  if (!Object.keys(changed).length) {
    toast("No tag was changed.");
    return;
  }
  try {
    await put("/api/files/tags", { path: file.path, tags: changed });
  } catch (err) {
    $("#tags-error").textContent = err.message;
    return;
  }
  $("#dlg-tags").close();
  toast(`Tags saved in ${file.name}.`);
  if (onSaved) onSaved(file);
}

// --- batch tag update ----------------------------------------------------------------------------

export function openBatchEditor(count, apply) {
  $("#batch-count").textContent = `${count} files selected.`;
  $("#batch-error").textContent = "";
  $("#batch-fields").replaceChildren(
    ...BATCH_FIELDS.map((k) => {
      const input = el("input", { id: `batch-${k}`, name: k, type: "text", autocomplete: "off" });
      return el("label", { class: "field" }, el("span", {}, labelOf(k)), input);
    }),
  );
  $("#batch-apply").onclick = async () => {
    const tags = {};
    for (const input of $("#batch-fields").querySelectorAll("input")) {
      if (input.value.trim() !== "") tags[input.name] = input.value.trim();
    }
    if (!Object.keys(tags).length) {
      $("#batch-error").textContent = "Fill in at least one field.";
      return;
    }
    try {
      await apply(tags);
      $("#dlg-batch").close();
    } catch (err) {
      $("#batch-error").textContent = err.message;
    }
  };
  showModal($("#dlg-batch"));
}

// --- preview of changes --------------------------------------------------------------------------

function tagChanges(before, after) {
  const keys = new Set([...Object.keys(before || {}), ...Object.keys(after || {})]);
  const out = [];
  for (const k of keys) {
    const a = (before || {})[k] ?? null;
    const b = (after || {})[k] ?? null;
    if (a !== b) out.push(`${esc(labelOf(k))}: ${esc(a ?? "∅")} → ${esc(b ?? "∅")}`);
  }
  return out.join("<br>") || '<span class="muted">no tag change</span>';
}

function previewRow(item) {
  const dup = item.outcome === "duplicate" || item.duplicate_of;
  const newName = item.new_path && item.new_path !== item.path ? esc(item.new_path) : '<span class="muted">unchanged</span>';
  const outcome = dup
    ? `<span class="dup">${icon("duplicate")} duplicate${item.duplicate_of ? ` of ${esc(item.duplicate_of)}` : ""}</span>`
    : esc(item.outcome) + (item.message ? `<br><span class="muted">${esc(item.message)}</span>` : "");
  return `<tr${dup ? ' class="is-dup"' : ""}><td>${esc(item.path)}</td><td>${newName}</td><td>${tagChanges(item.tags_before, item.tags_after)}</td><td>${outcome}</td></tr>`;
}

export async function openPreview(paths, apply) {
  const body = $("#preview-body");
  body.innerHTML = '<p class="muted">Working out the changes…</p>';
  showModal($("#dlg-preview"));
  $("#preview-apply").disabled = true;
  try {
    // The preview runs inside the request, so the server takes at most MAX_PREVIEW files; Apply
    // still processes every selected file, as a job.
    const { items } = await post("/api/preview", { paths: paths.slice(0, MAX_PREVIEW) });
    const n = paths.length;
    const more = n > MAX_PREVIEW ? `<p class="muted">The first ${MAX_PREVIEW} of ${n} files; Apply processes all ${n}.</p>` : "";
    body.innerHTML = `${more}<table class="data"><caption class="sr-only">Planned changes</caption>
<thead><tr><th scope="col">Current name</th><th scope="col">New name</th><th scope="col">Tag changes</th><th scope="col">Outcome</th></tr></thead>
<tbody>${items.map(previewRow).join("")}</tbody></table>`;
    $("#preview-apply").disabled = false;
    $("#preview-apply").onclick = async () => {
      $("#dlg-preview").close();
      await apply(paths);
    };
  } catch (err) {
    body.replaceChildren(el("p", { class: "error" }, err.message));
  }
}
