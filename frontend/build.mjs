// Bundles each browser island into src/kubelantern/web/static/dist/.
// One entry point per island so a page loads only what it uses: every page
// loads app.js; the editor and terminal load only on their pages.
//
// It also writes dist/manifest.json: a content hash per output file (the
// server appends it to asset URLs, so browsers may cache them for a year) and
// `source`, a hash of the inputs below. The Python build hook (hatch_build.py)
// computes the same input hash to reuse an up-to-date dist/ instead of running
// Node again, e.g. when a wheel is built from the sdist. Keep the two in step.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.join(here, "..", "src", "kubelantern", "web", "static", "dist");
const islands = ["app", "editor", "terminal", "logs"];
const entryPoints = Object.fromEntries(
  islands
    .map((name) => [name, path.join(here, "src", `${name}.ts`)])
    .filter(([, file]) => existsSync(file)),
);

// The inputs of the build: the same list as SOURCE_FILES in hatch_build.py.
function sourceHash() {
  const files = ["build.mjs", "package.json", "package-lock.json", "tsconfig.json"];
  for (const entry of readdirSync(path.join(here, "src"), { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const full = path.join(entry.parentPath ?? entry.path, entry.name);
      files.push(path.relative(here, full).split(path.sep).join("/"));
    }
  }
  const hash = createHash("sha256");
  for (const name of files.sort()) {
    hash.update(name + "\0");
    hash.update(readFileSync(path.join(here, name)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

const result = await build({
  entryPoints,
  bundle: true,
  minify: true,
  sourcemap: false,
  format: "iife",
  target: ["es2020"],
  outdir,
  loader: { ".css": "css" },
  logLevel: "warning",
  metafile: true,
});

// The icon sprite: only the Lucide icons listed in src/icons.json, as <symbol>s
// the server inlines into each page (<use href="#i-NAME">: no extra request,
// nothing fetched from elsewhere), and the favicon drawn from one of them.
function lucide(name) {
  const file = path.join(here, "node_modules", "lucide-static", "icons", `${name}.svg`);
  if (!existsSync(file)) throw new Error(`src/icons.json: no Lucide icon named ${name}`);
  const svg = readFileSync(file, "utf8");
  const inner = svg.slice(svg.indexOf(">", svg.indexOf("<svg")) + 1, svg.lastIndexOf("</svg>"));
  return inner.replace(/\s*\n\s*/g, "").replace(/\s+\/>/g, "/>");
}
const iconList = JSON.parse(readFileSync(path.join(here, "src", "icons.json"), "utf8"));
const symbols = [...new Set(iconList.icons)]
  .sort()
  .map((name) => `<symbol id="i-${name}" viewBox="0 0 24 24">${lucide(name)}</symbol>`);
writeFileSync(
  path.join(outdir, "icons.svg"),
  `<svg xmlns="http://www.w3.org/2000/svg" class="icon-sprite" aria-hidden="true" ` +
    `fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" ` +
    `stroke-linejoin="round"><!-- Lucide icons, ISC License: lucide-LICENSE.txt -->` +
    `${symbols.join("")}</svg>\n`,
);
writeFileSync(
  path.join(outdir, "favicon.svg"),
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">` +
    `<rect width="24" height="24" rx="5" fill="#1d4ed8"/>` +
    `<g transform="translate(3 3) scale(0.75)" fill="#fbbf24" stroke="#fde68a" stroke-width="1.5" ` +
    `stroke-linecap="round" stroke-linejoin="round">${lucide(iconList.favicon)}</g></svg>\n`,
);

// The icons' licence travels with them (ISC asks for its notice in copies).
writeFileSync(
  path.join(outdir, "lucide-LICENSE.txt"),
  readFileSync(path.join(here, "node_modules", "lucide-static", "LICENSE")),
);

const files = {};
for (const extra of ["icons.svg", "favicon.svg", "lucide-LICENSE.txt"]) {
  const digest = createHash("sha256").update(readFileSync(path.join(outdir, extra))).digest("hex");
  files[extra] = digest.slice(0, 12);
}
for (const output of Object.keys(result.metafile.outputs).sort()) {
  const full = path.resolve(output);
  const digest = createHash("sha256").update(readFileSync(full)).digest("hex");
  files[path.relative(outdir, full).split(path.sep).join("/")] = digest.slice(0, 12);
}
writeFileSync(
  path.join(outdir, "manifest.json"),
  JSON.stringify({ source: sourceHash(), files }, null, 2) + "\n",
);
