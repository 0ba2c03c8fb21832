// The one script every page loads: htmx, the theme switch and ticking ages.
import htmx from "htmx.org";

declare global {
  interface Window {
    htmx: typeof htmx;
  }
}
window.htmx = htmx;

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

document.addEventListener("click", (ev) => {
  const target = ev.target as HTMLElement | null;
  if (target?.closest("[data-theme-toggle]")) toggleTheme();
});
setInterval(tickAges, 1000);
