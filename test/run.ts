// The one test command. `npm test` = lint, typecheck, then every test file (unit, integration,
// e2e) in one node:test run against the local stack, which it starts when it is not running.
// `npm run test:unit` needs no stack.
import { spawnSync } from "node:child_process";
import { globSync } from "node:fs";
import { stackConfig } from "./stack/config.ts";
import { context, readStackEnv, status, up } from "./stack/stack.ts";

type Mode = "unit" | "integration" | "e2e" | "all";
const mode = (process.argv[2] ?? "all") as Mode;
if (!["unit", "integration", "e2e", "all"].includes(mode)) {
  console.error(`test/run.ts: unknown mode ${mode}; use unit, integration, e2e or all`);
  process.exit(2);
}
const extra = process.argv.slice(3);

function step(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  console.error(`\n== ${name}`);
  const started = Date.now();
  const result = spawnSync(command, args, { stdio: "inherit", env });
  console.error(`== ${name}: ${result.status === 0 ? "ok" : "FAILED"} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  if (result.status !== 0) process.exit(result.status ?? 1);
}

if (mode === "all") {
  step("lint", "biome", ["check", "."]);
  step("typecheck", "tsc", ["--noEmit", "-p", "tsconfig.json"]);
}

const folders = { unit: ["unit"], integration: ["integration"], e2e: ["e2e"], all: ["unit", "integration", "e2e"] }[mode];
const files = folders.flatMap((f) => globSync(`test/${f}/**/*.test.ts`)).sort();
if (files.length === 0) {
  console.error(`no test files under ${folders.map((f) => `test/${f}/`).join(", ")}`);
  process.exit(1);
}

let env: NodeJS.ProcessEnv = process.env;
if (mode !== "unit") {
  const config = stackConfig();
  const ctx = context(config);
  const started = Date.now();
  const health = await status(ctx);
  if (health.some((c) => !c.healthy)) {
    console.error("\n== stack: starting the local stack (npm run stack -- up)");
    await up(ctx);
  }
  console.error(`== stack: ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  env = { ...readStackEnv(config), ...process.env };
}

// Integration tests share one broker and one API server; two files at a time keeps a 2-core
// machine responsive while still overlapping I/O waits.
step(
  `tests (${mode}, ${files.length} files)`,
  process.execPath,
  [
    "--test",
    "--test-reporter=spec",
    `--test-concurrency=${mode === "unit" ? 4 : 2}`,
    "--test-timeout=900000",
    "--test-force-exit",
    ...extra,
    ...files,
  ],
  env,
);
