// Bundles each browser island into src/kubelantern/web/static/dist/.
// One entry point per island so a page loads only what it uses: every page
// loads app.js; the editor and terminal load only on their pages.
import { build } from "esbuild";
import { existsSync } from "node:fs";
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

await build({
  entryPoints,
  bundle: true,
  minify: true,
  sourcemap: false,
  format: "iife",
  target: ["es2020"],
  outdir,
  loader: { ".css": "css" },
  logLevel: "warning",
});
