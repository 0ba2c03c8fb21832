// The YAML editor island (edit.html, create.html): CodeMirror 6 on the page's
// textarea form, talking to the same endpoints the form posts to, as JSON.
//
// Edit: Review = diff (live vs your text, side by side) + the API server's dry
// run; Apply = server-side apply. Problems the server names by field path come
// back with line numbers and are marked on those lines. Create: Check = a dry
// run of every document; Create applies them all or none.
import { basicSetup } from "codemirror";
import { yaml } from "@codemirror/lang-yaml";
import { EditorState, type Extension } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { MergeView } from "@codemirror/merge";
import { lintGutter, setDiagnostics, type Diagnostic } from "@codemirror/lint";
import { cspNonce } from "./nonce";

interface Cause {
  field?: string;
  message?: string;
  line?: number;
  manager?: string;
  reason?: string;
}

interface ApiErrorBody {
  status: number;
  title: string;
  message: string;
  line?: number;
  column?: number;
  causes?: Cause[];
  advice?: string;
  stale?: boolean;
  liveYaml?: string;
  resourceVersion?: string;
}

interface EditAnswer {
  result?: string;
  message?: string;
  diff?: string;
  serverDiff?: string;
  conflicts?: Cause[];
  needsForce?: boolean;
  resourceVersion?: string | null;
  liveYaml?: string;
  error?: ApiErrorBody;
}

interface DocResult {
  index: number;
  line: number;
  kind: string;
  name: string;
  namespace: string | null;
  state: string;
  status: number;
  title: string;
  message: string;
  causes: Cause[];
  url: string | null;
}

interface CreateAnswer {
  applied?: boolean;
  dryRun?: boolean;
  ok?: boolean;
  rolledBack?: boolean;
  leftApplied?: number[];
  documents?: DocResult[];
  error?: ApiErrorBody;
}

// CodeMirror writes its styles into a <style> element: with the page's CSP
// nonce, or the policy refuses it (src/kubelantern/web/csp.py).
const nonce = EditorView.cspNonce.of(cspNonce());

const theme = EditorView.theme({
  "&": { backgroundColor: "var(--code)", color: "var(--fg)", border: "1px solid var(--line)" },
  ".cm-gutters": { backgroundColor: "var(--bg2)", color: "var(--muted)", borderRight: "1px solid var(--line)" },
  ".cm-activeLine, .cm-activeLineGutter": { backgroundColor: "color-mix(in srgb, var(--accent) 8%, transparent)" },
  "&.cm-focused .cm-cursor": { borderLeftColor: "var(--fg)" },
});

function csrfToken(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? "";
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  text = "",
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

async function postJson<T>(url: string, body: Record<string, unknown>): Promise<{ status: number; data: T }> {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json",
      "X-CSRF-Token": csrfToken(),
    },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  let data: T;
  try {
    data = (await response.json()) as T;
  } catch {
    data = { error: { status: response.status, title: "Error", message: response.statusText } } as T;
  }
  return { status: response.status, data };
}

/** A unified diff as lines coloured by their first character. */
function renderDiff(pre: HTMLElement, diff: string): void {
  pre.textContent = "";
  if (!diff) {
    pre.textContent = "(no change)";
    return;
  }
  for (const line of diff.split("\n")) {
    const cls = line.startsWith("+++") || line.startsWith("---") ? "diff-file"
      : line.startsWith("+") ? "diff-add"
      : line.startsWith("-") ? "diff-del"
      : line.startsWith("@@") ? "diff-hunk" : "";
    const span = el("span", cls ? { class: cls } : {}, line);
    pre.append(span, "\n");
  }
}

class Island {
  readonly form: HTMLFormElement;
  readonly view: EditorView;
  readonly status: HTMLElement;
  readonly force: HTMLInputElement | null;
  merge: MergeView | null = null;

  constructor(form: HTMLFormElement) {
    this.form = form;
    const textarea = form.querySelector<HTMLTextAreaElement>("[data-editor-text]")!;
    this.status = document.getElementById("editor-status") ?? form;
    this.force = form.querySelector<HTMLInputElement>("[data-editor-force]");
    const extensions: Extension[] = [nonce, basicSetup, yaml(), lintGutter(), theme, EditorView.lineWrapping];
    this.view = new EditorView({
      state: EditorState.create({ doc: textarea.value, extensions }),
    });
    textarea.hidden = true;
    textarea.after(this.view.dom);
    this.view.dom.classList.add("yaml-editor");
    this.view.dom.dataset.editorView = "";
    // The plain form still works if a script error stops us: keep the textarea in sync.
    form.addEventListener("formdata", (ev) => ev.formData.set("yaml", this.text()));
    (window as unknown as { klEditor: EditorView }).klEditor = this.view;
  }

  text(): string {
    return this.view.state.doc.toString();
  }

  setText(text: string): void {
    this.view.dispatch({ changes: { from: 0, to: this.view.state.doc.length, insert: text } });
  }

  mark(problems: { line?: number; column?: number; message: string; warning?: boolean }[]): void {
    const doc = this.view.state.doc;
    const diagnostics: Diagnostic[] = [];
    for (const p of problems) {
      if (!p.line || p.line < 1 || p.line > doc.lines) continue;
      const line = doc.line(p.line);
      const from = p.column ? Math.min(line.from + p.column - 1, line.to) : line.from;
      const severity = p.warning ? "warning" : "error";
      diagnostics.push({ from, to: Math.max(line.to, from), severity, message: p.message });
    }
    this.view.dispatch(setDiagnostics(this.view.state, diagnostics));
  }

  notice(kind: "ok" | "bad" | "warn" | "", html: HTMLElement[] | string, attrs: Record<string, string> = {}): HTMLElement {
    const box = el("div", { class: `notice ${kind}`, role: kind === "bad" ? "alert" : "status", ...attrs });
    if (typeof html === "string") box.textContent = html;
    else box.append(...html);
    this.status.replaceChildren(box);
    return box;
  }

  showError(error: ApiErrorBody): HTMLElement {
    const parts: HTMLElement[] = [el("strong", {}, error.title)];
    const where = error.line ? ` (line ${error.line}${error.column ? `, column ${error.column}` : ""})` : "";
    parts.push(el("span", {}, `${where}: ${error.message}`));
    const causes = error.causes ?? [];
    if (causes.length) {
      const list = el("ul", { class: "causes" });
      for (const c of causes) {
        const at = c.line ? `line ${c.line}: ` : "";
        const who = c.manager ? ` (managed by ${c.manager})` : "";
        list.append(el("li", {}, `${at}${c.field ?? ""} ${c.message ?? ""}${who}`));
      }
      parts.push(list);
    }
    if (error.advice) parts.push(el("p", { class: "muted" }, error.advice));
    const box = this.notice("bad", parts, { "data-editor-error": String(error.status) });
    const marks = causes.map((c) => ({ line: c.line, message: `${c.field ?? ""}: ${c.message ?? ""}` }));
    if (error.line) marks.push({ line: error.line, message: error.message });
    this.mark(marks.length ? marks : []);
    return box;
  }
}

class Editor extends Island {
  readonly reviewUrl: string;
  readonly applyUrl: string;
  readonly rv: HTMLInputElement;
  readonly original: HTMLTextAreaElement;
  readonly review: HTMLElement;

  constructor(form: HTMLFormElement) {
    super(form);
    this.reviewUrl = form.dataset.reviewUrl!;
    this.applyUrl = form.dataset.applyUrl!;
    this.rv = form.querySelector<HTMLInputElement>("[data-editor-rv]")!;
    this.original = form.querySelector<HTMLTextAreaElement>("[data-editor-original]")!;
    this.review = document.getElementById("editor-review")!;
    form.querySelector("[data-editor-review]")?.addEventListener("click", (ev) => {
      ev.preventDefault();
      void this.send(true);
    });
    form.querySelector("[data-editor-apply]")?.addEventListener("click", (ev) => {
      ev.preventDefault();
      void this.send(false);
    });
  }

  body(): Record<string, unknown> {
    return {
      yaml: this.text(),
      resourceVersion: this.rv.value,
      original: this.original.value,
      force: this.force?.checked ?? false,
    };
  }

  showMerge(live: string, serverDiff: string | undefined): void {
    this.merge?.destroy();
    const parent = this.review.querySelector<HTMLElement>("[data-editor-merge]")!;
    parent.replaceChildren();
    const readOnly = [nonce, basicSetup, yaml(), theme, EditorState.readOnly.of(true), EditorView.editable.of(false)];
    this.merge = new MergeView({
      a: { doc: live, extensions: readOnly },
      b: { doc: this.text(), extensions: readOnly },
      parent,
      collapseUnchanged: { margin: 3, minSize: 6 },
    });
    renderDiff(this.review.querySelector<HTMLElement>("[data-diff]")!, serverDiff ?? "");
    this.review.hidden = false;
  }

  async send(dryRun: boolean, overwrite = false): Promise<void> {
    this.form.setAttribute("aria-busy", "true");
    try {
      const body = { ...this.body(), overwrite };
      const { status, data } = await postJson<EditAnswer>(dryRun ? this.reviewUrl : this.applyUrl, body);
      if (data.error) {
        this.failed(data.error);
        return;
      }
      this.mark([]);
      if (dryRun) {
        this.reviewed(data);
      } else {
        this.applied(data, status);
      }
    } catch (err) {
      this.notice("bad", `Could not reach Kubelantern: ${String(err)}`);
    } finally {
      this.form.removeAttribute("aria-busy");
    }
  }

  reviewed(data: EditAnswer): void {
    const parts: HTMLElement[] = [el("span", {}, data.message ?? "Reviewed.")];
    const conflicts = data.conflicts ?? [];
    if (conflicts.length) {
      const list = el("ul", { class: "causes" });
      for (const c of conflicts) {
        list.append(el("li", {}, `${c.line ? `line ${c.line}: ` : ""}${c.field ?? ""} is managed by ${c.manager ?? "another manager"}`));
      }
      parts.push(el("p", {}, "Other field managers own fields you change. Apply with Force to take them over:"), list);
      this.mark(
        conflicts.map((c) => ({ line: c.line, message: `managed by ${c.manager ?? "another manager"}`, warning: true })),
      );
    }
    this.notice(conflicts.length ? "warn" : "ok", parts, { "data-editor-result": "valid" });
    this.showMerge(data.liveYaml ?? "", data.serverDiff);
  }

  applied(data: EditAnswer, status: number): void {
    const back = this.form.closest("main")?.querySelector<HTMLAnchorElement>("[data-editor-back]");
    const parts: HTMLElement[] = [el("span", {}, `${data.message ?? "Applied."} `)];
    if (back) parts.push(el("a", { href: back.href }, "Back to the object"));
    this.notice("ok", parts, { "data-editor-result": data.result ?? String(status) });
    if (data.liveYaml) {
      this.setText(data.liveYaml);
      this.original.value = data.liveYaml;
    }
    if (data.resourceVersion) this.rv.value = data.resourceVersion;
    if (this.force) this.force.checked = false;
    this.merge?.destroy();
    this.merge = null;
    this.review.hidden = true;
  }

  failed(error: ApiErrorBody): void {
    const box = this.showError(error);
    const conflict = (error.causes ?? []).some((c) => c.reason === "FieldManagerConflict");
    if (conflict && this.force) {
      const retry = el("button", { type: "button", "data-editor-force-apply": "" }, "Apply with force");
      retry.addEventListener("click", () => {
        this.force!.checked = true;
        void this.send(false);
      });
      box.append(retry);
    }
    if (error.stale && error.liveYaml !== undefined) {
      const live = error.liveYaml;
      const rv = error.resourceVersion ?? "";
      const show = el("button", { type: "button" }, "Show what changed");
      show.addEventListener("click", () => this.showMerge(live, ""));
      const over = el("button", { type: "button", "data-editor-rebase": "" }, "Apply my changes anyway");
      over.title = "Your changes win where both changed; other changes made meanwhile are kept.";
      over.addEventListener("click", () => void this.send(false, true));
      const reload = el("button", { type: "button" }, "Discard my text and reload");
      reload.addEventListener("click", () => {
        this.setText(live);
        this.original.value = live;
        this.rv.value = rv;
        this.status.replaceChildren();
      });
      box.append(show, over, reload);
    }
  }
}

class Creator extends Island {
  readonly url: string;
  readonly namespace: HTMLInputElement | null;
  readonly results: HTMLElement;

  constructor(form: HTMLFormElement) {
    super(form);
    this.url = form.dataset.createUrl!;
    this.namespace = form.querySelector<HTMLInputElement>("[data-editor-namespace]");
    this.results = document.querySelector<HTMLElement>("[data-create-results]")!;
    form.querySelector("[data-editor-review]")?.addEventListener("click", (ev) => {
      ev.preventDefault();
      void this.send(true);
    });
    form.querySelector("[data-editor-apply]")?.addEventListener("click", (ev) => {
      ev.preventDefault();
      void this.send(false);
    });
  }

  async send(dryRun: boolean): Promise<void> {
    this.form.setAttribute("aria-busy", "true");
    try {
      const { data } = await postJson<CreateAnswer>(this.url, {
        yaml: this.text(),
        namespace: this.namespace?.value ?? "",
        dryRun,
        force: this.force?.checked ?? false,
      });
      if (data.error) {
        this.showError(data.error);
        this.results.replaceChildren();
        return;
      }
      this.show(data);
    } catch (err) {
      this.notice("bad", `Could not reach Kubelantern: ${String(err)}`);
    } finally {
      this.form.removeAttribute("aria-busy");
    }
  }

  show(data: CreateAnswer): void {
    const docs = data.documents ?? [];
    const headline = data.applied ? "Applied every document."
      : data.ok ? "Every document passes the dry run; nothing applied yet."
      : data.leftApplied?.length ? `A document failed, and not every change could be undone: see documents ${data.leftApplied.join(", ")}.`
      : data.rolledBack ? "A document failed: every change this request made was undone."
      : "Nothing was applied: fix the documents marked below.";
    this.notice(data.ok ? "ok" : "bad", headline, { "data-editor-result": data.applied ? "applied" : data.ok ? "valid" : "invalid" });
    const table = el("table", { class: "grid", "data-documents": "" });
    const head = el("tr");
    for (const h of ["#", "Line", "Kind", "Name", "Namespace", "Result", "Details"]) head.append(el("th", {}, h));
    table.append(el("thead"), el("tbody"));
    table.tHead!.append(head);
    const marks: { line?: number; message: string }[] = [];
    const prefix = document.body.dataset.prefix ?? "";
    for (const d of docs) {
      const row = el("tr", { "data-document": String(d.index), "data-state": d.state });
      const name = el("td");
      if (d.url && ["created", "configured", "unchanged", "not deleted", "not restored"].includes(d.state)) name.append(el("a", { href: prefix + d.url }, d.name));
      else name.textContent = d.name;
      const good = ["valid", "created", "configured", "deferred", "unchanged", "rolled back", "restored"].includes(d.state);
      const details = el("td", {}, `${d.title && !good ? `${d.title}: ` : ""}${d.message}`);
      if (d.causes.length) {
        const list = el("ul", { class: "causes" });
        for (const c of d.causes) {
          list.append(el("li", {}, `${c.line ? `line ${c.line}: ` : ""}${c.field ?? ""} ${c.message ?? ""}`));
          marks.push({ line: c.line ?? d.line, message: `${c.field ?? ""}: ${c.message ?? ""}` });
        }
        details.append(list);
      } else if (!good && d.status) {
        marks.push({ line: d.line, message: d.message });
      }
      row.append(
        el("td", {}, String(d.index)),
        el("td", {}, String(d.line)),
        el("td", {}, d.kind),
        name,
        el("td", {}, d.namespace ?? ""),
        (() => {
          const cell = el("td");
          cell.append(el("span", { class: `badge ${good ? "ok" : "bad"}` }, d.state));
          return cell;
        })(),
        details,
      );
      table.tBodies[0].append(row);
    }
    this.results.replaceChildren(table);
    this.mark(marks);
  }
}

function init(): void {
  const form = document.querySelector<HTMLFormElement>("form[data-editor]");
  if (!form) return;
  if (form.dataset.editor === "create") new Creator(form);
  else new Editor(form);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
