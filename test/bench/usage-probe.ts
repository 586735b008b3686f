// Loaded with `node --import` into a process the bench measures: on exit it writes the process's
// own resource usage (CPU seconds, peak RSS) to the file KBO_BENCH_USAGE names. Exact figures,
// including start-up, without sampling /proc from outside.
import { readFileSync, writeFileSync } from "node:fs";

/**
 * The process's own peak RSS. Not getrusage's maxRSS: Linux carries that across fork and exec, so a
 * child of a large parent (the bench, after holding a backup's blocks) reports the parent's peak.
 * VmHWM belongs to this process's own address space.
 */
function peakRssKiB(fallback: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) : fallback;
  } catch {
    return fallback;
  }
}

const file = process.env.KBO_BENCH_USAGE;
if (file) {
  process.once("exit", () => {
    const u = process.resourceUsage();
    writeFileSync(
      file,
      JSON.stringify({
        cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6,
        userCpuSeconds: u.userCPUTime / 1e6,
        maxRssKiB: peakRssKiB(u.maxRSS),
      }),
    );
  });
}
