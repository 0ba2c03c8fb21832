// Command palette: Ctrl-K (or "/") jumps to any kind or object by name, keyboard only.

interface Hit {
  type: "kind" | "object" | "cluster";
  label: string;
  detail: string;
  url: string;
}

// The cluster of the page is in its address (/c/<slug>/...), never in the rows
// it shows: the clusters page lists every cluster with data-cluster rows, and
// there the palette searches all of them at once.
function currentCluster(prefix: string): string | null {
  const path = window.location.pathname.slice(prefix.length);
  const match = /^\/c\/([^/]+)\//.exec(path);
  return match ? decodeURIComponent(match[1]) : null;
}

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
}

export function initPalette(prefix: () => string): void {
  const dialog = document.createElement("dialog");
  dialog.className = "palette";
  dialog.setAttribute("aria-label", "Go to kind or object");
  dialog.innerHTML = `
    <input type="search" class="palette-input" placeholder="Jump to a kind or object…"
           aria-label="Search kinds and objects" role="combobox" aria-expanded="true"
           aria-controls="palette-results" autocomplete="off">
    <ul id="palette-results" class="palette-results" role="listbox"></ul>
    <p class="palette-help">↑↓ to choose · Enter to open · Esc to close</p>`;
  document.body.appendChild(dialog);
  const input = dialog.querySelector<HTMLInputElement>("input")!;
  const list = dialog.querySelector<HTMLUListElement>("ul")!;
  let hits: Hit[] = [];
  let active = 0;
  let timer: number | undefined;
  let seq = 0;

  const paint = (): void => {
    list.innerHTML = "";
    hits.forEach((hit, i) => {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.id = `palette-opt-${i}`;
      li.dataset.url = hit.url;
      li.setAttribute("aria-selected", i === active ? "true" : "false");
      const label = document.createElement("span");
      label.className = "palette-label";
      label.textContent = hit.label;
      const detail = document.createElement("span");
      detail.className = "palette-detail";
      detail.textContent = hit.detail;
      li.append(label, detail);
      li.addEventListener("mousedown", (ev) => {
        ev.preventDefault();
        window.location.assign(prefix() + hit.url);
      });
      list.appendChild(li);
    });
    input.setAttribute("aria-activedescendant", hits.length ? `palette-opt-${active}` : "");
    list.querySelector('[aria-selected="true"]')?.scrollIntoView({ block: "nearest" });
  };

  const search = async (): Promise<void> => {
    const q = input.value.trim();
    const mine = ++seq;
    const cluster = currentCluster(prefix());
    // The server renders both search URLs (kubelantern.urls): the script only
    // fills in the cluster, it never builds a path of its own.
    const body = document.body.dataset;
    const base = cluster
      ? `${(body.clusterSearchUrl ?? "").replace("{cluster}", encodeURIComponent(cluster))}.json`
      : `${body.searchUrl ?? ""}.json`;
    const resp = await fetch(`${base}?q=${encodeURIComponent(q)}`, {
      headers: { Accept: "application/json" },
    });
    if (mine !== seq || !resp.ok) return;
    const data = (await resp.json()) as { results: Hit[] };
    hits = data.results;
    active = 0;
    paint();
  };

  const open = (): void => {
    if (!dialog.open) dialog.showModal();
    input.value = "";
    hits = [];
    paint();
    input.focus();
    void search();
  };

  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void search(), 120);
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown") {
      active = Math.min(active + 1, hits.length - 1);
      paint();
      ev.preventDefault();
    } else if (ev.key === "ArrowUp") {
      active = Math.max(active - 1, 0);
      paint();
      ev.preventDefault();
    } else if (ev.key === "Enter") {
      const hit = hits[active];
      if (hit) window.location.assign(prefix() + hit.url);
      ev.preventDefault();
    }
  });
  document.addEventListener("keydown", (ev) => {
    if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === "k") {
      ev.preventDefault();
      open();
    } else if (ev.key === "/" && !isTyping(ev.target) && !dialog.open) {
      ev.preventDefault();
      open();
    }
  });
  document.querySelectorAll("[data-palette-open]").forEach((b) => b.addEventListener("click", open));
}
