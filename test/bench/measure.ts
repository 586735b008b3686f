// Running a measured child process: wall time, CPU seconds and peak RSS (from usage-probe.ts),
// and the peak RSS halfway through the run (sampled from /proc), which shows whether memory is
// still growing as the data keeps coming.
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Measured {
  code: number | null;
  stdout: string;
  stderr: string;
  wallSeconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
  /** Peak RSS (VmHWM) at half the wall time. */
  peakRssHalfwayMiB: number;
}

const probe = join(import.meta.dirname, "usage-probe.ts");

function hwmKiB(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs a Node program with the usage probe; `nodeArgs` go before the script (e.g. --cpu-prof). */
export async function runNode(
  script: string,
  args: string[],
  nodeArgs: string[] = [],
  timeoutMs = 1_800_000,
  env: Record<string, string> = {},
): Promise<Measured> {
  const usageFile = join(tmpdir(), `kbo-bench-usage-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  const started = performance.now();
  const child = spawn(process.execPath, ["--import", probe, ...nodeArgs, script, ...args], {
    env: { ...process.env, ...env, KBO_BENCH_USAGE: usageFile },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const samples: Array<[number, number]> = [];
  const sampler = setInterval(() => {
    const kib = hwmKiB(child.pid as number);
    if (kib) samples.push([performance.now() - started, kib]);
  }, 200);
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d));
  child.stderr.on("data", (d: Buffer) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearInterval(sampler);
  clearTimeout(timer);
  const wallMs = performance.now() - started;
  let usage = { cpuSeconds: Number.NaN, maxRssKiB: Number.NaN };
  try {
    usage = JSON.parse(readFileSync(usageFile, "utf8")) as typeof usage;
  } catch {
    // The child died before its exit hook ran (killed): no usage figures.
  }
  rmSync(usageFile, { force: true });
  const halfway = samples.filter(([t]) => t <= wallMs / 2).at(-1)?.[1] ?? Number.NaN;
  return {
    code,
    stdout,
    stderr,
    wallSeconds: wallMs / 1000,
    cpuSeconds: usage.cpuSeconds,
    peakRssMiB: usage.maxRssKiB / 1024,
    peakRssHalfwayMiB: halfway / 1024,
  };
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}
