// The one test command. `npm test` = lint, typecheck, then every test file (unit, integration,
// e2e) in one node:test run against the local stack, which it starts when it is not running, then
// the fault suite (test/faults/: brokers restarted, object stores paused, the API server
// restarted), one file at a time, because each fault hits servers every test shares.
// `npm run test:unit` needs no stack.
import { spawnSync } from "node:child_process";
import { globSync } from "node:fs";
import { stackConfig } from "./stack/config.ts";
import { context, readStackEnv, status, up } from "./stack/stack.ts";

type Mode = "unit" | "integration" | "e2e" | "faults" | "all";
const mode = (process.argv[2] ?? "all") as Mode;
if (!["unit", "integration", "e2e", "faults", "all"].includes(mode)) {
  console.error(`test/run.ts: unknown mode ${mode}; use unit, integration, e2e, faults or all`);
  process.exit(2);
}
const extra = process.argv.slice(3);

function step(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  console.error(`\n== ${name}`);
  const started = Date.now();
  // A hang fails the run in bounded time rather than holding CI to its limit.
  const result = spawnSync(command, args, { stdio: "inherit", env, timeout: 50 * 60_000, killSignal: "SIGKILL" });
  if (result.error) console.error(`== ${name}: ${result.error.message}`);
  console.error(`== ${name}: ${result.status === 0 ? "ok" : "FAILED"} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  if (result.status !== 0) process.exit(result.status ?? 1);
}

if (mode === "all") {
  step("lint", "biome", ["check", "."]);
  step("typecheck", "tsc", ["--noEmit", "-p", "tsconfig.json"]);
}

const folders = { unit: ["unit"], integration: ["integration"], e2e: ["e2e"], faults: [], all: ["unit", "integration", "e2e"] }[
  mode
];
const files = folders.flatMap((f) => globSync(`test/${f}/**/*.test.ts`)).sort();
const faultFiles = mode === "all" || mode === "faults" ? globSync("test/faults/**/*.test.ts").sort() : [];
if (files.length + faultFiles.length === 0) {
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

const nodeTest = (concurrency: number, list: string[]) => [
  "--test",
  "--test-reporter=spec",
  `--test-concurrency=${concurrency}`,
  "--test-timeout=900000",
  "--test-force-exit",
  ...extra,
  ...list,
];
// Integration tests share one broker and one API server; two files at a time keeps a 2-core
// machine responsive while still overlapping I/O waits.
if (files.length) step(`tests (${mode}, ${files.length} files)`, process.execPath, nodeTest(mode === "unit" ? 4 : 2, files), env);
if (faultFiles.length) step(`faults (${faultFiles.length} files, one at a time)`, process.execPath, nodeTest(1, faultFiles), env);
