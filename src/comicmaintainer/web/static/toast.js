// In-page toasts, and browser notifications once the user has asked for them with a click.

import { $, el } from "./dom.js";

export function toast(message, kind = "info", ms = 6000) {
  const node = el("div", { class: `toast ${kind}` }, message);
  $("#toasts").append(node);
  setTimeout(() => node.remove(), ms);
  return node;
}

export function notificationsAllowed() {
  return "Notification" in window && Notification.permission === "granted";
}

export function notify(title, body) {
  if (notificationsAllowed() && document.visibilityState !== "visible") {
    try {
      new Notification(title, { body });
    } catch {
      // Some browsers only allow notifications from a service worker; the toast is enough then.
    }
  }
}

// Permission is requested only from this click handler, never on load.
export function setupNotifyButton() {
  const button = $("#notify-button");
  const refresh = () => {
    if (!("Notification" in window)) {
      button.hidden = true;
    } else if (Notification.permission === "granted") {
      button.textContent = "Notifications on";
      button.disabled = true;
    } else if (Notification.permission === "denied") {
      button.textContent = "Notifications blocked by the browser";
      button.disabled = true;
    }
  };
  button.addEventListener("click", async () => {
    await Notification.requestPermission();
    refresh();
  });
  refresh();
}
