// The live event stream (GET /api/events/stream) with its connection state shown in the header.
//
// The browser's EventSource already reconnects with Last-Event-ID after a network error; when it
// gives up (an HTTP error, or the page closed it), we reopen it ourselves with ?last_event_id= and a
// growing delay, so the server replays only what was missed and nothing is counted twice.
// EventSource does not say why it gave up: a 401 (signed out) looks like any other failure, so before
// reopening we ask /api/security whether we are still signed in, and go to the login page if not.

import { appUrl, get, toLogin } from "./api.js";

export const EVENT_KINDS = ["job_updated", "job_item", "file_changed", "watcher_status", "settings_changed", "resync"];
const URL_PATH = appUrl("/api/events/stream");

export class LiveStream {
  constructor(handlers, onState) {
    this.handlers = handlers;
    this.onState = onState;
    this.lastId = 0;
    this.source = null;
    this.retryMs = 500;
    this.timer = 0;
    this.state = "connecting";
    this.received = 0;
    this.opens = 0;
  }

  start() {
    clearTimeout(this.timer);
    const url = this.lastId ? `${URL_PATH}?last_event_id=${this.lastId}` : URL_PATH;
    const source = new EventSource(url);
    this.source = source;
    source.onopen = () => {
      this.opens += 1;
      this.retryMs = 500;
      this.setState("live");
    };
    source.onerror = () => {
      if (this.source !== source) return;
      this.setState("reconnecting");
      if (source.readyState === EventSource.CLOSED) {
        this.checkSignedIn();
        this.reopenLater();
      }
    };
    for (const kind of EVENT_KINDS) {
      source.addEventListener(kind, (ev) => this.dispatch(kind, ev));
    }
  }

  dispatch(kind, ev) {
    const id = Number(ev.lastEventId);
    if (Number.isFinite(id) && id > this.lastId) this.lastId = id;
    this.received += 1;
    let data;
    try {
      data = JSON.parse(ev.data);
    } catch {
      return;
    }
    const handler = this.handlers[kind];
    if (handler) handler(data, id);
  }

  async checkSignedIn() {
    try {
      const s = await get("/api/security");
      if (s.auth_enabled && !s.authenticated) toLogin();
    } catch {
      // The server cannot be reached: reconnecting is all there is to do.
    }
  }

  reopenLater() {
    if (this.source) this.source.close();
    this.source = null;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.start(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 10000);
  }

  // Closed for good (signing out): nothing more arrives, nothing reopens it.
  stop() {
    if (this.source) this.source.close();
    this.source = null;
    clearTimeout(this.timer);
  }

  // Drops the connection as a network failure would, then comes back after `ms`: used by the
  // end-to-end tests to prove that the page catches up without double counting.
  drop(ms = 1000) {
    if (this.source) this.source.close();
    this.source = null;
    this.setState("reconnecting");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.start(), ms);
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.onState(state);
  }
}
