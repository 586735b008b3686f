// The README's main command, as written: `npm run demo` runs to its end on the local stack and
// its own checks (restored record counts, translated consumer-group offsets) pass.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { repoRoot } from "../stack/config.ts";

test("npm run demo backs up, restores to a point in time with offsets, and checks it", () => {
  const run = spawnSync("npm", ["run", "--silent", "demo"], { cwd: repoRoot, encoding: "utf8", timeout: 600_000 });
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /all checks passed/);
  assert.match(run.stdout, /offset mapping\s+s3:\/\//);
  console.log(
    run.stdout
      .split("\n")
      .filter((l) => /all checks|restore |consumer group/.test(l))
      .join("\n"),
  );
});
