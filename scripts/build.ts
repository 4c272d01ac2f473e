#!/usr/bin/env bun
/**
 * Release build: one self-contained executable, `dist/surrogate` (DESIGN §11).
 *   bun scripts/build.ts [--outfile PATH]
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import packageJson from "../package.json" with { type: "json" };

const root = resolve(import.meta.dir, "..");

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  strict: true,
  options: { outfile: { type: "string", default: resolve(root, "dist/surrogate") } },
});

const outfile = resolve(values.outfile);
const commit = gitCommit();

const result = await Bun.build({
  entrypoints: [resolve(root, "src/main.ts")],
  compile: {
    // With `compile`, the top-level `outfile` is ignored (the binary lands in the cwd as `main`).
    outfile,
    // A compiled binary would otherwise read `.env` and `bunfig.toml` from whatever directory it is
    // started in (DESIGN §11): an attacker-writable working directory could then set
    // NODE_TLS_REJECT_UNAUTHORIZED=0 or preload code. Configuration comes only from surrogate.toml.
    autoloadDotenv: false,
    autoloadBunfig: false,
    autoloadTsconfig: false,
    autoloadPackageJson: false,
  },
  minify: true,
  // Each dynamic import() becomes its own chunk inside the binary, parsed only when loaded: a
  // `serve --role proxy` process then never reads the broker, web port or other commands' code
  // (idle RSS 56 → 53 MB; docs/benchmarks.md, "Memory of a proxy-role process").
  splitting: true,
  define: {
    SURROGATE_VERSION: JSON.stringify(packageJson.version),
    SURROGATE_COMMIT: JSON.stringify(commit),
  },
  throw: false,
});

if (!result.success || !(await Bun.file(outfile).exists())) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
console.log(`built ${outfile} (surrogate ${packageJson.version}, ${commit})`);

function gitCommit(): string {
  const git = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: root, stderr: "ignore" });
  return git.success ? git.stdout.toString().trim() : "unknown";
}
