// Cover thumbnails, loaded only when their row scrolls into view and at most two at a time.
//
// A browser opens about six connections to one server; the event stream holds one. Letting a page
// of 100 lazy images take all the others would queue the next list request behind thumbnails
// (which may have to be cut from an archive first), so changing page would wait on covers.
//
// No cover is asked for a file that needs attention: its archive could not be read, so the request
// could only fail (and put an error in the browser's console). A cover that failed once is not asked
// again while the file stays the same (same size and time), however often its row is drawn again.
//
// Signing out pauses the loader and waits for the covers on their way: one that reached the server
// after the session was gone would be refused, an error in the console for nothing.

const MAX_PARALLEL = 2;

export const hasNoCover = (file) => file.status === "needs_attention";
const fileKey = (file) => `${file.size}:${file.mtime}:${file.path}`;

export class CoverLoader {
  constructor(urlOf) {
    this.urlOf = urlOf; // file path -> cover URL
    this.queue = [];
    this.active = 0;
    this.failed = new Set(); // fileKey of covers that could not be loaded
    this.paused = false;
    this.whenIdle = null; // resolves pause() once nothing is in flight
    this.observer = new IntersectionObserver((entries) => this.onVisible(entries), { rootMargin: "200px" });
  }

  // The cover cell of a file's row: an image loaded when it comes into view, or an empty frame.
  html(file, esc) {
    if (hasNoCover(file) || this.failed.has(fileKey(file))) return '<span class="cover no-cover"></span>';
    return `<img class="cover" decoding="async" data-src="${esc(this.urlOf(file.path))}" data-key="${esc(fileKey(file))}" alt="" width="36" height="48">`;
  }

  // Called after the list is drawn: forget the old rows, watch the new ones.
  watch(root) {
    this.observer.disconnect();
    this.queue = [];
    for (const img of root.querySelectorAll("img.cover[data-src]")) this.observer.observe(img);
  }

  onVisible(entries) {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      this.observer.unobserve(entry.target);
      this.queue.push(entry.target);
    }
    this.pump();
  }

  // No new cover is asked for; settles once those in flight are in, or after `ms` at the latest.
  pause(ms = 2000) {
    this.paused = true;
    return new Promise((resolve) => {
      this.whenIdle = resolve;
      setTimeout(resolve, ms);
      this.settle();
    });
  }

  resume() {
    this.paused = false;
    this.pump();
  }

  settle() {
    if (this.active === 0 && this.whenIdle) this.whenIdle();
  }

  pump() {
    if (this.paused) return this.settle();
    while (this.active < MAX_PARALLEL && this.queue.length) {
      const img = this.queue.shift();
      if (!img.isConnected || !img.dataset.src) continue;
      this.active += 1;
      const done = (ev) => {
        if (ev.type === "error" && img.dataset.key) this.failed.add(img.dataset.key);
        this.active -= 1;
        this.pump();
      };
      img.addEventListener("load", done, { once: true });
      img.addEventListener("error", done, { once: true });
      img.src = img.dataset.src;
      delete img.dataset.src;
    }
  }
}
