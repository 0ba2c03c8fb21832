// The terminal: xterm.js on a WebSocket to Kubelantern, which relays it to the
// API server's exec/attach. Binary frames are bytes (keystrokes out, terminal
// output in); text frames are JSON: our `hello` (with the page's CSRF token),
// `resize` and `eof`; the server's `connected`, `info`, `exit` and `error`.
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import "@xterm/xterm/css/xterm.css";
import "./terminal.css";
import { withStyleNonce } from "./nonce";

interface ServerEvent {
  type: "connected" | "info" | "exit" | "error";
  message?: string;
  title?: string;
  advice?: string;
  protocol?: string;
  command?: string[];
  container?: string;
  tty?: boolean;
  success?: boolean;
  exitCode?: number | null;
  reason?: string;
}

const encoder = new TextEncoder();

function csrfToken(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? "";
}

function socketUrl(path: string): string {
  const url = new URL(path, window.location.href);
  url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

class TerminalSession {
  readonly term: Terminal;
  private readonly fit = new FitAddon();
  private ws: WebSocket | null = null;
  private readonly status: HTMLElement | null;
  private readonly reconnect: HTMLButtonElement | null;
  private finished = false;

  constructor(
    private readonly el: HTMLElement,
    private readonly path: string,
    private readonly interactive: boolean,
  ) {
    this.status = document.querySelector<HTMLElement>("[data-term-status]");
    this.reconnect = document.querySelector<HTMLButtonElement>("[data-term-reconnect]");
    this.term = new Terminal({
      cursorBlink: true,
      fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace',
      fontSize: 13,
      scrollback: 5000,
      disableStdin: !interactive,
      theme: { background: "#0b0e14" },
    });
    this.term.loadAddon(this.fit);
    withStyleNonce(() => this.term.open(el)); // its <style> elements need the CSP nonce
    this.fitNow();
    this.term.onData((data) => this.send(encoder.encode(data)));
    this.term.onBinary((data) => this.send(Uint8Array.from(data, (c) => c.charCodeAt(0))));
    this.term.onResize(({ cols, rows }) => this.control({ type: "resize", cols, rows }));
    new ResizeObserver(() => this.fitNow()).observe(el);
    this.reconnect?.addEventListener("click", () => this.connect());
    window.addEventListener("pagehide", () => this.ws?.close(1000));
  }

  private fitNow(): void {
    try {
      this.fit.fit();
    } catch {
      /* not laid out yet */
    }
  }

  private setStatus(text: string, state: string): void {
    if (this.status) {
      this.status.textContent = text;
      this.status.dataset.state = state;
    }
    this.el.dataset.state = state;
  }

  private send(data: Uint8Array): void {
    if (this.interactive && this.ws?.readyState === WebSocket.OPEN) this.ws.send(data);
  }

  private control(data: object): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(data));
  }

  connect(): void {
    this.ws?.close(1000);
    this.finished = false;
    if (this.reconnect) this.reconnect.hidden = true;
    this.setStatus("connecting…", "connecting");
    const ws = new WebSocket(socketUrl(this.path));
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      ws.send(
        JSON.stringify({ type: "hello", csrf: csrfToken(), cols: this.term.cols, rows: this.term.rows }),
      );
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data === "string") {
        this.onEvent(JSON.parse(ev.data) as ServerEvent);
      } else {
        this.term.write(new Uint8Array(ev.data as ArrayBuffer));
      }
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (!this.finished) {
        this.setStatus(`disconnected${ev.reason ? `: ${ev.reason}` : ""}`, "error");
      }
      if (this.reconnect) this.reconnect.hidden = false;
    };
  }

  private onEvent(ev: ServerEvent): void {
    switch (ev.type) {
      case "connected": {
        const what = ev.command?.length ? ev.command.join(" ") : "attached";
        this.setStatus(`${what} · ${ev.container} · ${ev.protocol}`, "live");
        // Without a TTY nobody turns "\n" into "\r\n": let xterm do it.
        this.term.options.convertEol = ev.tty === false;
        this.control({ type: "resize", cols: this.term.cols, rows: this.term.rows });
        if (this.interactive) this.term.focus();
        break;
      }
      case "info":
        this.term.write(`\r\n\x1b[2m${ev.message ?? ""}\x1b[0m\r\n`);
        break;
      case "exit": {
        this.finished = true;
        const code = ev.exitCode === null || ev.exitCode === undefined ? "" : ` (exit code ${ev.exitCode})`;
        const text = ev.success ? `session ended${code}` : `${ev.message || "failed"}${code}`;
        this.term.write(`\r\n\x1b[${ev.success ? "2" : "31"}m[${text}]\x1b[0m\r\n`);
        this.setStatus(text, ev.success ? "ended" : "error");
        break;
      }
      case "error": {
        this.finished = true;
        const text = [ev.title, ev.message].filter(Boolean).join(": ");
        this.term.write(`\r\n\x1b[31m${text}\x1b[0m\r\n`);
        if (ev.advice) this.term.write(`\x1b[2m${ev.advice}\x1b[0m\r\n`);
        this.setStatus(text, "error");
        break;
      }
    }
  }
}

function init(): void {
  const el = document.querySelector<HTMLElement>("[data-terminal]");
  if (!el) return;
  const session = new TerminalSession(
    el,
    el.dataset.socketUrl ?? "",
    el.dataset.interactive !== "false",
  );
  (window as unknown as { klTerminal: TerminalSession }).klTerminal = session;
  session.connect();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", init);
} else {
  init();
}
