// `npm run crds`: writes crds/generated/crds.yaml, crds/generated/types.ts and docs/reference.md from the schema
// source. `--check` writes nothing and fails when the checked-in files are out of date (CI).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  generatedReferencePath,
  generatedTypesPath,
  generatedYamlPath,
  renderReference,
  renderTypes,
  renderYaml,
} from "./render.ts";

const root = join(import.meta.dirname, "..");
const outputs: [string, string][] = [
  [generatedYamlPath, renderYaml()],
  [generatedTypesPath, renderTypes()],
  [generatedReferencePath, renderReference()],
];
const check = process.argv.includes("--check");
let stale = 0;
for (const [path, text] of outputs) {
  const file = join(root, path);
  let current: string | undefined;
  try {
    current = readFileSync(file, "utf8");
  } catch {
    current = undefined;
  }
  if (current === text) continue;
  if (check) {
    console.error(`${path} is out of date: run npm run crds`);
    stale++;
  } else {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    console.error(`wrote ${path}`);
  }
}
process.exit(stale ? 1 : 0);
