// Loaded with `node --import` into a process the bench measures: on exit it writes the process's
// own resource usage (CPU seconds, peak RSS) to the file KBO_BENCH_USAGE names. Exact figures,
// including start-up, without sampling /proc from outside.
import { writeFileSync } from "node:fs";

const file = process.env.KBO_BENCH_USAGE;
if (file) {
  process.once("exit", () => {
    const u = process.resourceUsage();
    writeFileSync(
      file,
      JSON.stringify({
        cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6,
        userCpuSeconds: u.userCPUTime / 1e6,
        maxRssKiB: u.maxRSS,
      }),
    );
  });
}
