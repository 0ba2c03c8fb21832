// Bundles each browser island into src/kubelantern/web/static/dist/.
// One entry point per island so a page loads only what it uses.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.join(here, "..", "src", "kubelantern", "web", "static", "dist");

await build({
  entryPoints: { app: path.join(here, "src", "app.ts") },
  bundle: true,
  minify: true,
  sourcemap: false,
  format: "iife",
  target: ["es2020"],
  outdir,
  logLevel: "info",
});
