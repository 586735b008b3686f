// Running a Job's pods without a kubelet (the stack has none): each index's container command as
// a local process, with the container's environment, JOB_COMPLETION_INDEX as the Job controller
// sets it, and each projected Secret volume written to a folder from the real Secrets, standing
// in for the mount. The one translation: the image's bundled CLI is its source, engine/cli/main.ts.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { V1Job } from "@kubernetes/client-node";
import { workerEntry } from "../../engine/k8s/jobs.ts";
import { repoRoot } from "../stack/config.ts";
import { getObject } from "./kube.ts";

export interface PodRun {
  index: number;
  code: number | null;
  output: string;
}

/** What a kubelet would mount: every projected Secret source of the pod, under a local folder per mount. */
function mountVolumes(job: V1Job, namespace: string): Map<string, string> {
  const pod = job.spec?.template.spec;
  const mounts = new Map<string, string>();
  for (const m of pod?.containers[0]?.volumeMounts ?? []) {
    const volume = pod?.volumes?.find((v) => v.name === m.name);
    if (!volume?.projected) continue;
    const dir = mkdtempSync(join(tmpdir(), "kbo-pod-volume-"));
    for (const source of volume.projected.sources ?? []) {
      if (!source.secret?.name) continue;
      const secret = getObject<{ data?: Record<string, string> }>("secret", namespace, source.secret.name);
      for (const item of source.secret.items ?? []) {
        const file = join(dir, item.path);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, Buffer.from(secret.data?.[item.key] ?? "", "base64"));
      }
    }
    mounts.set(m.mountPath, dir);
  }
  return mounts;
}

/** Runs the pods of `indexes` (default: every index) at once and waits for them all. */
export async function runJobPods(namespace: string, name: string, indexes?: number[]): Promise<PodRun[]> {
  const job = getObject<V1Job>("job", namespace, name);
  const container = job.spec?.template.spec?.containers[0];
  if (!container?.command) throw new Error(`Job ${namespace}/${name} has no container command`);
  const mounts = mountVolumes(job, namespace);
  const local = (value: string) => mounts.get(value) ?? value;
  const [program, entry, ...args] = container.command;
  if (program !== "node" || entry !== workerEntry) throw new Error(`unexpected command ${container.command.join(" ")}`);
  const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root" };
  for (const e of container.env ?? []) {
    if (e.value === undefined) throw new Error(`env ${e.name}: only plain values are expected (no Secret value in the Job spec)`);
    env[e.name] = local(e.value);
  }
  const all = indexes ?? Array.from({ length: job.spec?.completions ?? 1 }, (_, i) => i);
  return await Promise.all(
    all.map(
      (index) =>
        new Promise<PodRun>((resolve) => {
          const child = spawn(process.execPath, [join(repoRoot, "engine/cli/main.ts"), ...args.map(local)], {
            env: { ...env, JOB_COMPLETION_INDEX: String(index) },
            stdio: ["ignore", "pipe", "pipe"],
          });
          let output = "";
          child.stdout.on("data", (d: Buffer) => (output += d));
          child.stderr.on("data", (d: Buffer) => (output += d));
          child.once("exit", (code) => resolve({ index, code, output }));
        }),
    ),
  );
}
