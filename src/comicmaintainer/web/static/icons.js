// Status icons as inline SVG: they look the same on every machine, where emoji characters need an
// emoji font and show as empty boxes without one. An icon is decoration (aria-hidden); the caller
// always puts the status's text label beside it.

const SHAPES = {
  processed: '<circle cx="8" cy="8" r="7" fill="currentColor"/><path class="mark" d="M4.6 8.2l2.3 2.3 4.5-4.8"/>',
  unprocessed:
    '<path d="M8 1.2 15.2 14.3H.8z" fill="currentColor" stroke="currentColor" stroke-linejoin="round"/>' +
    '<path class="mark" d="M8 5.6v4"/><circle class="dot" cx="8" cy="12" r="1"/>',
  duplicate:
    '<rect x="1.5" y="1.5" width="9" height="9" rx="1.5" fill="none" stroke="currentColor" stroke-width="1.6"/>' +
    '<rect x="5.5" y="5.5" width="9" height="9" rx="1.5" fill="currentColor"/>',
  needs_attention:
    '<circle cx="8" cy="8" r="7" fill="currentColor"/><path class="mark" d="M8 4v5"/><circle class="dot" cx="8" cy="11.8" r="1.1"/>',
  unknown: '<circle cx="8" cy="8" r="3" fill="currentColor"/>',
};
// The list's filter names the same things in the plural.
const ALIASES = { duplicates: "duplicate" };

export function icon(name) {
  const key = ALIASES[name] || name;
  const shape = SHAPES[key] ? key : "unknown";
  return `<svg class="icon icon-${shape}" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false">${SHAPES[shape]}</svg>`;
}

// Fills every `<span data-icon="NAME">` under root (the static page's own placeholders).
export function fillIcons(root) {
  for (const slot of root.querySelectorAll("[data-icon]")) slot.innerHTML = icon(slot.dataset.icon);
}
