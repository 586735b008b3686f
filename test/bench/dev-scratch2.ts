import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deleteTopic } from "./kafka-tools.ts";
import { backup, restore, workspace } from "./ours.ts";

const ws = workspace(mkdtempSync(join(tmpdir(), "kbo-dev-")), "bench-dev-r");
const id = process.argv[2] ?? (await backup(ws, "bench-dev", "minio", "zstd", 3)).backupId;
console.log("set", id);
if (process.argv[3]) {
  const target = `bench-dev-r-${Date.now()}`;
  const r = await restore(ws, "bench-dev", id, target);
  console.log(
    process.argv[3],
    "eng",
    r.engineSeconds.toFixed(2),
    "cpu",
    r.measured.cpuSeconds.toFixed(2),
    "rss",
    r.measured.peakRssMiB.toFixed(0),
    "rec/s",
    Math.round(r.records / r.engineSeconds),
  );
  await deleteTopic(target);
}
