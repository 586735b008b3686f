import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTopic, fill } from "/work/wt-bench/test/bench/kafka-tools.ts";
import { backup, workspace } from "/work/wt-bench/test/bench/ours.ts";

const topic = "bench-dev";
if (process.argv[2] === "fill") {
  await createTopic(topic, 8);
  console.log(await fill(topic, 204800, 1024, 8));
  process.exit(0);
}
const ws = workspace(mkdtempSync(join(tmpdir(), "kbo-dev-")), "bench-dev");
const extra = process.argv.slice(3);
for (const codec of (process.argv[2] ?? "zstd").split(",")) {
  const b = await backup(ws, topic, "filesystem", codec as "zstd", codec === "zstd" ? 3 : undefined, extra);
  console.log(
    codec,
    extra.join(" "),
    "eng",
    b.engineSeconds.toFixed(2),
    "cpu",
    b.measured.cpuSeconds.toFixed(2),
    "rss",
    b.measured.peakRssMiB.toFixed(0),
    "half",
    b.measured.peakRssHalfwayMiB.toFixed(0),
    "rec/s",
    Math.round(b.records / b.engineSeconds),
  );
}
