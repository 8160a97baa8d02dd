// Sign-in state in the header (GET /api/security): who is signed in, a Sign out button, and a banner
// when the service is open to the whole network with no sign-in at all.
//
// The banner can be dismissed for the rest of the browser session (sessionStorage): it must be seen,
// not nag on every reload, and it comes back in the next session for as long as the setup is open.

import { appUrl, get } from "./api.js";
import { $ } from "./dom.js";
import { toast } from "./toast.js";

const DISMISSED_KEY = "cm-exposed-banner-dismissed";

function remembered() {
  try {
    return sessionStorage.getItem(DISMISSED_KEY) === "1";
  } catch {
    return false; // storage disabled: show the banner each time rather than never
  }
}

function showExposedBanner() {
  if (remembered()) return;
  const banner = $("#exposed-banner");
  banner.hidden = false;
  $("#exposed-dismiss").addEventListener("click", () => {
    banner.hidden = true;
    try {
      sessionStorage.setItem(DISMISSED_KEY, "1");
    } catch {
      // Nothing to keep it in; it is hidden for this page at least.
    }
  });
}

// `quiet` stops the page's background requests (covers, the event stream) and resolves when none is
// in flight; `resume` starts them again if the server could not be reached.
async function signOut({ quiet, resume }) {
  await quiet();
  try {
    // The answer is a redirect to the login page; we go there ourselves once the session is gone.
    await fetch(appUrl("/logout"), { method: "POST", redirect: "manual" });
  } catch {
    toast("The server cannot be reached: you are still signed in.", "error");
    resume();
    return;
  }
  location.assign(appUrl("/login"));
}

function showUser(user, background) {
  $("#account-user").textContent = `Signed in as ${user}`;
  $("#account").hidden = false;
  $("#sign-out").addEventListener("click", () => signOut(background));
}

export async function showAccount(background) {
  let status;
  try {
    status = await get("/api/security");
  } catch {
    return; // an old server without the route, or offline: the rest of the page says so
  }
  if (status.exposed) showExposedBanner();
  if (status.auth_enabled && status.authenticated) showUser(status.user || "", background);
}
