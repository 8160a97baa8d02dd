// Cover thumbnails, loaded only when their row scrolls into view and at most two at a time.
//
// A browser opens about six connections to one server; the event stream holds one. Letting a page
// of 100 lazy images take all the others would queue the next list request behind thumbnails
// (which may have to be cut from an archive first), so changing page would wait on covers.

const MAX_PARALLEL = 2;

export class CoverLoader {
  constructor() {
    this.queue = [];
    this.active = 0;
    this.observer = new IntersectionObserver((entries) => this.onVisible(entries), { rootMargin: "200px" });
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

  pump() {
    while (this.active < MAX_PARALLEL && this.queue.length) {
      const img = this.queue.shift();
      if (!img.isConnected || !img.dataset.src) continue;
      this.active += 1;
      const done = () => {
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
