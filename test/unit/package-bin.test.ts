// The package's `bin` files are committed executable (#18): npm install sets the mode of a bin,
// so a file committed without it leaves every fresh checkout modified after `npm install`.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../stack/config.ts";

test("every bin of package.json is committed with mode 100755", () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { bin: Record<string, string> };
  const bins = Object.values(pkg.bin);
  assert.ok(bins.length > 0, "package.json names its bin");
  for (const file of bins) {
    const entry = execFileSync("git", ["ls-files", "--stage", "--", file], { cwd: repoRoot, encoding: "utf8" });
    assert.match(entry, /^100755 /, `${file} is committed as ${entry.split(" ")[0] || "nothing"}, not executable`);
  }
});
