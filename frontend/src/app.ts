// The one script every page loads: htmx, theme switch, ticking ages, live
// tables (SSE), column sorting, the namespace chooser and the command palette.
import htmx from "htmx.org";
import { initPalette } from "./palette";

declare global {
  interface Window {
    htmx: typeof htmx;
  }
}
window.htmx = htmx;
// Under the Content-Security-Policy (src/kubelantern/web/csp.py): no eval
// (hx-on, "js:" values and trigger filters are not used), no <script> run
// from swapped-in fragments (they could carry an injected one), and no
// <style> of htmx's own (its indicator rules are in app.css).
htmx.config.allowEval = false;
htmx.config.allowScriptTags = false;
htmx.config.includeIndicatorStyles = false;

const prefix = (): string => document.body.dataset.prefix ?? "";

function toggleTheme(): void {
  const root = document.documentElement;
  const dark =
    root.dataset.theme === "dark" ||
    (!root.dataset.theme && window.matchMedia("(prefers-color-scheme: dark)").matches);
  const next = dark ? "light" : "dark";
  root.dataset.theme = next;
  try {
    localStorage.setItem("kl-theme", next);
  } catch {
    /* private mode: the switch still works for this page */
  }
}

/** kubectl's short age, the same rule as the server's `age` filter. */
export function shortAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
  if (d < 730) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

function tickAges(): void {
  const now = Date.now();
  document.querySelectorAll<HTMLTimeElement>("time[data-age]").forEach((el) => {
    const t = Date.parse(el.dateTime);
    if (!Number.isNaN(t)) el.textContent = shortAge((now - t) / 1000);
  });
}

// ---- live tables -----------------------------------------------------------

function setStatus(text: string, cls: string): void {
  const el = document.querySelector<HTMLElement>("[data-live-status]");
  if (!el) return;
  el.textContent = text;
  el.className = `live-status ${cls}`;
  document.body.dataset.live = cls;
}

function rowFromHtml(html: string): HTMLTableRowElement | null {
  const tpl = document.createElement("template");
  tpl.innerHTML = `<table><tbody>${html.trim()}</tbody></table>`;
  return tpl.content.querySelector("tr");
}

function updateEmpty(tbody: HTMLElement): void {
  const empty = document.querySelector<HTMLElement>("[data-empty]");
  if (empty) empty.hidden = tbody.querySelector("tr:not(.gone)") !== null;
}

function liveTable(table: HTMLTableElement): void {
  const url = table.dataset.watchUrl;
  const tbody = table.tBodies[0];
  if (!url || !tbody) return;
  const partial = table.dataset.partial === "true";
  const source = new EventSource(url);
  source.addEventListener("open", () => setStatus("Live", "on"));
  source.addEventListener("ready", () => setStatus("Live", "on"));
  source.addEventListener("error", () => setStatus("Reconnecting…", "off"));
  source.addEventListener("row", (ev) => {
    const data = JSON.parse((ev as MessageEvent).data) as { key: string; html: string };
    const row = rowFromHtml(data.html);
    if (!row) return;
    const existing = tbody.querySelector<HTMLTableRowElement>(`tr[data-key="${CSS.escape(data.key)}"]`);
    if (existing) {
      // A live update keeps the row's tick and an open row menu.
      const ticked = existing.querySelector<HTMLInputElement>("input[data-select-row]")?.checked;
      const box = row.querySelector<HTMLInputElement>("input[data-select-row]");
      if (ticked && box) box.checked = true;
      if (existing.querySelector("details[data-row-menu][open]")) return;
      existing.replaceWith(row);
    } else {
      const rows = Array.from(tbody.querySelectorAll<HTMLTableRowElement>("tr"));
      const after = rows.find((r) => (r.dataset.key ?? "") > data.key);
      if (after) tbody.insertBefore(row, after);
      else if (!partial) tbody.appendChild(row);
      else return; // beyond this page: it belongs to a later page
    }
    row.classList.add("flash");
    tickAges();
    updateEmpty(tbody);
    updateBulk();
  });
  source.addEventListener("delete", (ev) => {
    const data = JSON.parse((ev as MessageEvent).data) as { key: string };
    const row = tbody.querySelector<HTMLTableRowElement>(`tr[data-key="${CSS.escape(data.key)}"]`);
    if (row) row.remove();
    updateEmpty(tbody);
    updateBulk();
  });
  source.addEventListener("relist", () => {
    source.close();
    window.location.reload();
  });
  source.addEventListener("problem", (ev) => {
    const data = JSON.parse((ev as MessageEvent).data) as { message: string };
    setStatus(`Live updates stopped: ${data.message}`, "off");
    source.close();
  });
  window.addEventListener("pagehide", () => source.close());
}

// "On this page": one link per section of a detail page, in page order.
function buildToc(nav: HTMLElement): void {
  const list = nav.querySelector("ol");
  const body = document.getElementById("detail-body");
  if (!list || !body) return;
  list.replaceChildren();
  body.querySelectorAll<HTMLElement>("section[id]").forEach((section) => {
    const heading = section.querySelector("h2");
    if (!heading) return;
    const title = Array.from(heading.childNodes)
      .filter((n) => !(n instanceof HTMLElement && n.tagName === "SMALL"))
      .map((n) => n.textContent ?? "")
      .join("")
      .trim();
    if (!title) return;
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = `#${section.id}`;
    link.textContent = title;
    item.appendChild(link);
    list.appendChild(item);
  });
  nav.hidden = list.children.length < 3;
}

function liveDetail(el: HTMLElement): void {
  const url = el.dataset.watchUrl;
  const body = document.getElementById("detail-body");
  if (!url || !body) return;
  const source = new EventSource(url);
  source.addEventListener("ready", () => setStatus("Live", "on"));
  source.addEventListener("error", () => setStatus("Reconnecting…", "off"));
  source.addEventListener("changed", () => {
    // The detail view re-renders its body as a fragment (hx-trigger="kl:refresh").
    htmx.trigger(body, "kl:refresh");
  });
  body.addEventListener("htmx:afterSwap", () => tickAges());
  source.addEventListener("deleted", () => {
    setStatus("This object was deleted", "off");
    document.body.classList.add("object-deleted");
    source.close();
  });
  window.addEventListener("pagehide", () => source.close());
}

// ---- sorting -----------------------------------------------------------------

function sortBy(key: string): void {
  const url = new URL(window.location.href);
  const current = url.searchParams.get("sort") ?? "";
  const next = current === key ? `-${key}` : key;
  url.searchParams.set("sort", next);
  url.searchParams.delete("continue");
  window.location.assign(url.toString());
}

// ---- namespace chooser ---------------------------------------------------------

function readCookieList(name: string): string[] {
  const m = document.cookie.split("; ").find((c) => c.startsWith(`${name}=`));
  if (!m) return [];
  return decodeURIComponent(m.slice(name.length + 1)).split(",").filter(Boolean);
}

function writeCookieList(name: string, values: string[]): void {
  const path = prefix() || "/";
  document.cookie = `${name}=${encodeURIComponent(values.join(","))}; path=${path}; max-age=31536000; SameSite=Lax`;
}

/** Navigate the current view to the chosen namespaces, remembering them per cluster.
 *
 * The server renders where to go on the chooser (from its route table): the
 * current kind's list in all namespaces (`data-list-url`) and a template of
 * its list in one namespace (`data-namespaced-url`, `{namespace}` to fill in).
 * A page of no namespaced kind (overview, nodes, create) just reloads. */
export function chooseNamespaces(root: HTMLElement, cluster: string, chosen: string[]): void {
  writeCookieList(`kl_ns.${cluster}`, chosen);
  const all = root.dataset.listUrl;
  const one = root.dataset.namespacedUrl;
  if (!all || !one) {
    window.location.reload();
    return;
  }
  let target: string;
  if (chosen.length === 1) target = one.replace("{namespace}", encodeURIComponent(chosen[0]));
  else if (chosen.length > 1) target = `${all}?namespaces=${chosen.join(",")}`;
  else target = all;
  window.location.assign(target);
}

function initNamespaceChooser(root: HTMLElement): void {
  const cluster = root.dataset.cluster ?? "";
  const select = root.querySelector<HTMLSelectElement>("[data-ns-select]");
  select?.addEventListener("change", () => {
    const values = Array.from(select.selectedOptions).map((o) => o.value);
    chooseNamespaces(root, cluster, values.includes("") ? [] : values);
  });
  root.querySelector("[data-ns-apply]")?.addEventListener("click", () => {
    const all = root.querySelector<HTMLInputElement>("[data-ns-all]");
    const boxes = Array.from(root.querySelectorAll<HTMLInputElement>("[data-ns-box]"));
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    chooseNamespaces(root, cluster, all?.checked && chosen.length === 0 ? [] : chosen);
  });
  root.querySelector<HTMLFormElement>("[data-ns-add]")?.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = (ev.target as HTMLFormElement).elements.namedItem("ns") as HTMLInputElement;
    const name = input.value.trim();
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
      input.setCustomValidity("A namespace name: lower-case letters, digits and '-'");
      input.reportValidity();
      return;
    }
    const known = readCookieList(`kl_known_ns.${cluster}`);
    if (!known.includes(name)) writeCookieList(`kl_known_ns.${cluster}`, [...known, name]);
    chooseNamespaces(root, cluster, [name]);
  });
}

// "Where do you work?" on the overview of someone who may not list namespaces:
// the named namespace joins the chooser's list and selection, then the form's
// GET shows the overview for it (without script the GET alone does that).
document.addEventListener("submit", (ev) => {
  const form = ev.target as HTMLFormElement | null;
  if (!form?.matches("form[data-ns-start]")) return;
  const cluster = form.dataset.cluster ?? "";
  const input = form.elements.namedItem("namespaces") as HTMLInputElement | null;
  const name = input?.value.trim() ?? "";
  if (!cluster || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) return;
  const known = readCookieList(`kl_known_ns.${cluster}`);
  if (!known.includes(name)) writeCookieList(`kl_known_ns.${cluster}`, [...known, name]);
  writeCookieList(`kl_ns.${cluster}`, [name]);
});

// ---- wiring ----------------------------------------------------------------------

// Bulk selection on list pages: "select all", a count, buttons only with a choice.
function updateBulk(): void {
  const form = document.querySelector<HTMLFormElement>("form[data-bulk-form]");
  if (!form) return;
  const boxes = Array.from(document.querySelectorAll<HTMLInputElement>("input[data-select-row]"));
  const ticked = boxes.filter((b) => b.checked).length;
  const count = form.querySelector<HTMLElement>("[data-bulk-count]");
  if (count) count.textContent = ticked ? `${ticked} selected` : "Tick rows to act on several at once.";
  form.querySelectorAll<HTMLButtonElement>("button[data-bulk-action]").forEach((b) => (b.disabled = ticked === 0));
  const all = document.querySelector<HTMLInputElement>("input[data-select-all]");
  if (all) {
    all.checked = ticked > 0 && ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  }
}

document.addEventListener("change", (ev) => {
  const box = ev.target as HTMLInputElement | null;
  if (box?.matches("input[data-select-all]")) {
    document.querySelectorAll<HTMLInputElement>("input[data-select-row]").forEach((b) => (b.checked = box.checked));
  }
  if (box?.matches("input[data-select-all], input[data-select-row]")) updateBulk();
});

// Selects that act at once (rows per page); without script a button does it.
document.addEventListener("change", (ev) => {
  const select = (ev.target as HTMLElement | null)?.closest<HTMLSelectElement>("select[data-autosubmit]");
  select?.form?.requestSubmit();
});

document.addEventListener("click", (ev) => {
  const target = ev.target as HTMLElement | null;
  if (target?.closest("[data-theme-toggle]")) toggleTheme();
  const sort = target?.closest<HTMLElement>("[data-sort-key]");
  if (sort?.dataset.sortKey) sortBy(sort.dataset.sortKey);
});

function initClusterSwitch(select: HTMLSelectElement): void {
  select.addEventListener("change", () => select.form?.submit());
}

function initKubeconfigUpload(input: HTMLInputElement): void {
  input.addEventListener("change", () => {
    const file = input.files?.[0];
    const area = input.form?.querySelector<HTMLTextAreaElement>("textarea[name=kubeconfig]");
    if (file && area) void file.text().then((text) => (area.value = text));
  });
}

// Forms that ask first (data-confirm): the question is page text, never script.
document.addEventListener("submit", (ev) => {
  const form = ev.target as HTMLFormElement | null;
  const question = form?.dataset.confirm;
  if (question && !window.confirm(question)) ev.preventDefault();
});

// Sign-out posts with fetch and then goes where the server says. The way out
// (OAuth2 Proxy's sign-out, the identity provider) leaves Kubelantern's origin,
// and Chromium checks CSP form-action on every redirect of a form's navigation;
// a navigation by script is no form submission. Without script the form posts.
document.addEventListener("submit", (ev) => {
  const form = ev.target as HTMLFormElement | null;
  if (!form?.matches("form.signout-form") || ev.defaultPrevented) return;
  ev.preventDefault();
  fetch(form.action, {
    method: "POST",
    body: new URLSearchParams(new FormData(form) as unknown as Record<string, string>),
    headers: {
      Accept: "application/json",
      "X-CSRF-Token": document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? "",
    },
    credentials: "same-origin",
  })
    .then((r) => (r.ok ? (r.json() as Promise<{ next?: string }>) : Promise.reject(r.status)))
    .then((data) => window.location.assign(data.next || `${prefix()}/`))
    .catch(() => form.submit());
});

function init(): void {
  document.querySelectorAll<HTMLInputElement>("[data-kubeconfig-file]").forEach(initKubeconfigUpload);
  document.querySelectorAll<HTMLSelectElement>("[data-cluster-select]").forEach(initClusterSwitch);
  document.querySelectorAll<HTMLTableElement>("table[data-live-table]").forEach(liveTable);
  document.querySelectorAll<HTMLElement>("[data-live-detail]").forEach(liveDetail);
  document.querySelectorAll<HTMLElement>("[data-ns-chooser]").forEach(initNamespaceChooser);
  document.querySelectorAll<HTMLElement>("nav[data-toc]").forEach((nav) => {
    buildToc(nav);
    document.getElementById("detail-body")?.addEventListener("htmx:afterSwap", () => buildToc(nav));
  });
  initPalette(prefix);
  updateBulk();
  setInterval(tickAges, 1000);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
