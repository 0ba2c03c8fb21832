// The log viewer: reads the SSE stream of /…/logs/stream and shows the lines.
// The server sends `ready` (the sources), `line` {t, s}, `notice` per ended or
// failed source, and `end`. Search, wrap, pause and the line cap work here, on
// the lines already received; everything that changes what the server reads
// (container, tail, since, previous, timestamps, follow) is the form above.
import "./logs.css";

interface SourceInfo {
  pod: string;
  container: string;
}

interface LineEvent {
  t: string;
  s: number;
}

interface NoticeEvent {
  level: "info" | "error";
  message: string;
  status: number;
  s: number;
}

const PAUSED_MAX = 5000;

function $(sel: string): HTMLElement | null {
  return document.querySelector<HTMLElement>(sel);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

class LogViewer {
  private readonly view: HTMLElement;
  private readonly status: HTMLElement | null;
  private readonly matches: HTMLElement | null;
  private readonly aggregated: boolean;
  private readonly maxLines: number;
  private sources: SourceInfo[] = [];
  private source: EventSource | null = null;
  private paused = false;
  private pending: LineEvent[] = [];
  private dropped = 0;
  private needle: RegExp | null = null;
  private onlyMatching = false;
  private ended = 0;
  private stickToBottom = true;
  private rows: HTMLElement[] = [];
  private flushing = false;
  private matchCount = 0;

  constructor(view: HTMLElement) {
    this.view = view;
    this.status = $("[data-log-status]");
    this.matches = $("[data-log-matches]");
    this.aggregated = view.dataset.aggregated === "true";
    this.maxLines = Number(view.dataset.maxLines || "20000");
    this.view.addEventListener("scroll", () => {
      const v = this.view;
      this.stickToBottom = v.scrollTop + v.clientHeight >= v.scrollHeight - 4;
    });
  }

  setStatus(text: string, state: string): void {
    if (!this.status) return;
    this.status.textContent = text;
    this.status.dataset.state = state;
    this.view.dataset.state = state;
  }

  open(url: string): void {
    this.close();
    this.ended = 0;
    const es = new EventSource(url);
    this.source = es;
    es.addEventListener("ready", (ev) => {
      const data = JSON.parse((ev as MessageEvent).data) as { sources: SourceInfo[]; follow: boolean };
      this.sources = data.sources;
      this.setStatus(data.follow ? "following" : "loading", data.follow ? "live" : "loading");
    });
    es.addEventListener("source", (ev) => {
      // A pod that appeared while following (a rollout, a scale-up): its lines follow.
      const data = JSON.parse((ev as MessageEvent).data) as SourceInfo & { s: number };
      this.sources[data.s] = { pod: data.pod, container: data.container };
      this.appendNotice({ level: "info", message: "new pod, now following", status: 0, s: data.s });
    });
    es.addEventListener("line", (ev) => {
      const line = JSON.parse((ev as MessageEvent).data) as LineEvent;
      if (this.paused) {
        this.pending.push(line);
        if (this.pending.length > PAUSED_MAX) {
          this.pending.shift();
          this.dropped++;
        }
        this.setStatus(`paused · ${this.pending.length} new`, "paused");
        return;
      }
      this.append(line);
    });
    es.addEventListener("notice", (ev) => {
      const n = JSON.parse((ev as MessageEvent).data) as NoticeEvent;
      if (n.level === "error") this.appendNotice(n);
      else this.ended++;
    });
    es.addEventListener("end", () => {
      es.close();
      this.source = null;
      this.setStatus(`ended · ${this.view.childElementCount + this.rows.length} lines`, "ended");
    });
    es.onerror = () => {
      // The server sends `end` when it is done; anything else is a broken stream.
      if (this.source !== es) return;
      es.close();
      this.source = null;
      this.setStatus("disconnected — press Show to reload", "error");
    };
  }

  close(): void {
    this.source?.close();
    this.source = null;
  }

  private prefix(s: number): string {
    const src = this.sources[s];
    return src ? `${src.pod}/${src.container}` : "";
  }

  private render(el: HTMLElement, text: string): void {
    el.textContent = "";
    const re = this.needle;
    if (!re) {
      el.append(text);
      return;
    }
    let last = 0;
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (m[0] === "") break;
      el.append(text.slice(last, m.index));
      const mark = document.createElement("mark");
      mark.textContent = m[0];
      el.append(mark);
      last = m.index + m[0].length;
    }
    el.append(text.slice(last));
  }

  private matchesNeedle(text: string): boolean {
    if (!this.needle) return true;
    this.needle.lastIndex = 0;
    return this.needle.test(text);
  }

  append(line: LineEvent): void {
    const row = document.createElement("div");
    row.className = "ln";
    if (this.aggregated) {
      const p = document.createElement("span");
      p.className = "src";
      p.textContent = this.prefix(line.s);
      p.dataset.s = String(line.s % 8);
      row.append(p);
    }
    const text = document.createElement("span");
    text.className = "t";
    row.append(text);
    row.dataset.text = line.t;
    this.render(text, line.t);
    if (this.needle && !this.matchesNeedle(line.t)) row.classList.add("nomatch");
    this.queue(row);
  }

  /** Rows are added once per frame: a burst of lines costs one layout, not one each. */
  private queue(row: HTMLElement): void {
    this.rows.push(row);
    if (this.rows.length > this.maxLines) this.rows.shift(); // a hidden tab gets no frames
    if (!this.flushing) {
      this.flushing = true;
      window.requestAnimationFrame(() => this.flush());
    }
  }

  private flush(): void {
    this.flushing = false;
    const rows = this.rows;
    this.rows = [];
    const frag = document.createDocumentFragment();
    for (const row of rows) {
      if (this.isMatch(row)) this.matchCount++;
      frag.append(row);
    }
    this.view.append(frag);
    let extra = this.view.childElementCount - this.maxLines;
    while (extra-- > 0) {
      const first = this.view.firstElementChild as HTMLElement | null;
      if (!first) break;
      if (this.isMatch(first)) this.matchCount--;
      first.remove();
    }
    if (this.stickToBottom) this.view.scrollTop = this.view.scrollHeight;
    this.showMatches();
  }

  private isMatch(row: HTMLElement): boolean {
    return !!this.needle && !row.classList.contains("nomatch") && !row.classList.contains("notice");
  }

  appendNotice(n: NoticeEvent): void {
    const row = document.createElement("div");
    row.className = "ln notice";
    row.setAttribute("role", "alert");
    const who = this.sources.length > 1 ? `${this.prefix(n.s)}: ` : "";
    row.textContent = `${who}${n.message}`;
    this.queue(row);
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused) {
      const lines = this.pending;
      this.pending = [];
      for (const line of lines) this.append(line);
      if (this.dropped) {
        this.appendNotice({
          level: "error",
          message: `${this.dropped} lines were skipped while paused`,
          status: 0,
          s: -1,
        });
        this.dropped = 0;
      }
      this.setStatus(this.source ? "following" : "ended", this.source ? "live" : "ended");
    } else {
      this.setStatus("paused", "paused");
    }
  }

  search(text: string, only: boolean): void {
    this.needle = text ? new RegExp(escapeRegExp(text), "gi") : null;
    this.onlyMatching = only;
    this.view.classList.toggle("only-matching", only && !!this.needle);
    for (const row of Array.from(this.view.querySelectorAll<HTMLElement>(".ln:not(.notice)"))) {
      const t = row.dataset.text ?? "";
      const span = row.querySelector<HTMLElement>(".t");
      if (span) this.render(span, t);
      row.classList.toggle("nomatch", !this.matchesNeedle(t));
    }
    this.countMatches();
    const first = this.view.querySelector("mark");
    if (first && !this.onlyMatching) first.scrollIntoView({ block: "center" });
  }

  private countMatches(): void {
    this.matchCount = this.needle
      ? this.view.querySelectorAll(".ln:not(.nomatch):not(.notice)").length
      : 0;
    this.showMatches();
  }

  private showMatches(): void {
    if (!this.matches) return;
    const n = this.matchCount;
    this.matches.textContent = this.needle ? `${n} matching line${n === 1 ? "" : "s"}` : "";
  }

  clear(): void {
    this.view.textContent = "";
    this.rows = [];
    this.countMatches();
  }
}

function init(): void {
  const view = $("[data-log-view]");
  if (!view) return;
  const viewer = new LogViewer(view);
  (window as unknown as { klLogs: LogViewer }).klLogs = viewer;
  viewer.open(view.dataset.streamUrl ?? "");

  const form = document.querySelector<HTMLFormElement>("[data-log-options]");
  form?.querySelectorAll("select, input[type=checkbox]").forEach((el) =>
    el.addEventListener("change", () => form.requestSubmit()),
  );

  const search = document.querySelector<HTMLInputElement>("[data-log-search]");
  const only = document.querySelector<HTMLInputElement>("[data-log-only]");
  let timer = 0;
  const apply = () => viewer.search(search?.value ?? "", only?.checked ?? false);
  search?.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(apply, 120);
  });
  only?.addEventListener("change", apply);

  const wrap = document.querySelector<HTMLInputElement>("[data-log-wrap]");
  wrap?.addEventListener("change", () => view.classList.toggle("wrap", wrap.checked));

  const pause = document.querySelector<HTMLButtonElement>("[data-log-pause]");
  pause?.addEventListener("click", () => {
    const now = pause.getAttribute("aria-pressed") !== "true";
    pause.setAttribute("aria-pressed", String(now));
    pause.textContent = now ? "Resume" : "Pause";
    viewer.setPaused(now);
  });
  $("[data-log-clear]")?.addEventListener("click", () => viewer.clear());
  window.addEventListener("pagehide", () => viewer.close());
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", init);
} else {
  init();
}
