// End-to-end helpers: kubectl against the stack's API server, the CRDs applied, a namespace per
// test file, and controllers started as local processes (faster than pods, and each can be
// SIGKILLed or given its own identity), as they would run in their pods.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { after } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { repoRoot } from "../stack/config.ts";
import { freePort } from "../stack/process.ts";
import { stackEnv } from "./stack-env.ts";

export function kubectl(args: string[], input?: string): string {
  return execFileSync(stackEnv("KUBECTL"), ["--kubeconfig", stackEnv("KUBECONFIG"), ...args], {
    encoding: "utf8",
    input,
    stdio: ["pipe", "pipe", "pipe"],
  });
}

/** kubectl that may fail: exit code and both outputs. */
export function kubectlTry(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  try {
    return { code: 0, stdout: kubectl(args, input), stderr: "" };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { code: e.status ?? 1, stdout: String(e.stdout ?? ""), stderr: String(e.stderr ?? "") };
  }
}

export function applyCrds(): void {
  kubectl(["apply", "--server-side", "--force-conflicts", "-f", join(repoRoot, "crds", "generated")]);
  kubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"]);
}

export function createNamespace(prefix: string): string {
  const namespace = `${prefix}-${randomUUID().slice(0, 8)}`;
  kubectl(["create", "namespace", namespace]);
  return namespace;
}

/** Deletes a namespace; the stack runs no namespace controller, so it is finalized by hand. */
export function deleteNamespace(name: string): void {
  kubectlTry(["delete", "namespace", name, "--wait=false"]);
  const r = kubectlTry(["get", "namespace", name, "-o", "json"]);
  if (r.code !== 0) return;
  const ns = JSON.parse(r.stdout) as { spec?: { finalizers?: string[] } };
  if (ns.spec) ns.spec.finalizers = [];
  kubectlTry(["replace", "--raw", `/api/v1/namespaces/${name}/finalize`, "-f", "-"], JSON.stringify(ns));
}

export function getObject<T = Record<string, unknown>>(kind: string, namespace: string, name: string): T {
  return JSON.parse(kubectl(["get", kind, "-n", namespace, name, "-o", "json"])) as T;
}

export async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await sleep(250);
  }
}

export interface RunningController {
  child: ChildProcess;
  metricsPort: number;
  logs: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

/**
 * For a test file: starts controllers watching `namespaces` (the first holds the leader Lease),
 * with any further settings in `env` (e.g. POD_NAME, a replica's identity), every one SIGKILLed
 * when the file's tests are done. Call it at the file's top level.
 */
export function controllersForThisFile(): (
  entry: string,
  namespaces: string[],
  env?: Record<string, string>,
) => Promise<RunningController> {
  const started: RunningController[] = [];
  after(async () => {
    for (const c of started) await c.stop("SIGKILL");
  });
  return async (entry, namespaces, env = {}) => {
    const c = await startController(entry, {
      WATCH_NAMESPACES: namespaces.join(","),
      LEADER_ELECTION_NAMESPACE: namespaces[0] as string,
      ...env,
    });
    started.push(c);
    return c;
  };
}

/**
 * Starts a controller program (the .ts source, or a bundle under dist/) with only a KUBECONFIG and
 * its settings. `nodeArgs` go before the entry, as in a Deployment's command (some V8 flags, such as
 * --optimize-for-size, are not allowed in NODE_OPTIONS).
 */
export async function startController(
  entry: string,
  env: Record<string, string>,
  kubeconfig = stackEnv("KUBECONFIG"),
  nodeArgs: string[] = [],
): Promise<RunningController> {
  const metricsPort = await freePort();
  let output = "";
  const child = spawn(process.execPath, [...nodeArgs, join(repoRoot, entry)], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/root",
      KUBECONFIG: kubeconfig,
      METRICS_PORT: String(metricsPort),
      METRICS_BIND_ADDRESS: "127.0.0.1",
      LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d: Buffer) => (output += d));
  child.stderr?.on("data", (d: Buffer) => (output += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await waitFor(`${entry} to serve /readyz`, async () => {
    if (child.exitCode !== null) throw new Error(`exited: ${output.slice(-2000)}`);
    const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined);
    return res?.ok ? true : undefined;
  });
  return {
    child,
    metricsPort,
    logs: () => output,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null) child.kill(signal);
      // A controller that does not exit within its grace period (plus margin) is killed, as the kubelet would.
      const timer = setTimeout(() => child.exitCode === null && child.kill("SIGKILL"), 40_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

/** The object's Ready condition, if it has one. */
export function readyCondition(kind: string, namespace: string, name: string): Condition | undefined {
  return getObject<{ status?: { conditions?: Condition[] } }>(kind, namespace, name).status?.conditions?.find(
    (c) => c.type === "Ready",
  );
}

/**
 * Reconciles per object ("Kind namespace/name") in controller output written at LOG_LEVEL=debug,
 * where the runtime logs one "reconcile" line each time it reconciles an object.
 */
export function reconcilesPerObject(logs: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of logs.split("\n")) {
    if (!line.includes('"msg":"reconcile"')) continue;
    const entry = JSON.parse(line) as { kind: string; namespace: string; name: string };
    const key = `${entry.kind} ${entry.namespace}/${entry.name}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
