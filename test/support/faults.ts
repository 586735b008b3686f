// Faults injected into the local stack's real servers: a process paused (SIGSTOP) and continued,
// a component stopped and started again on the same ports and data. Used by test/faults/ (run one
// file at a time, after the other tests, since every test shares these servers) and by the storage
// conformance tests' short pauses.
import { setTimeout as sleep } from "node:timers/promises";
import { runDirs, stackConfig } from "../stack/config.ts";
import { readPid } from "../stack/process.ts";
import { components, context } from "../stack/stack.ts";

/** Stops a stack server's process group (SIGSTOP) and continues it (SIGCONT) after `ms`; always continued. */
export function pauseServer(processName: string, ms: number): { resumed: Promise<void>; resume(): void } {
  const pid = readPid(runDirs(stackConfig()), processName);
  if (pid === undefined) throw new Error(`no pid for ${processName}`);
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pid, s);
    } catch {
      process.kill(pid, s);
    }
  };
  let done = false;
  const resume = () => {
    if (done) return;
    done = true;
    signal("SIGCONT");
    process.off("exit", resume);
  };
  process.on("exit", resume);
  signal("SIGSTOP");
  const resumed = sleep(ms).then(resume);
  return { resumed, resume };
}

/** Stops a stack component (kafka, kube, minio, …) and starts it again, same ports and data. */
export async function restartComponent(name: string, downtimeMs = 0): Promise<void> {
  const component = components.find((c) => c.name === name);
  if (!component) throw new Error(`no stack component ${name}`);
  const ctx = context(stackConfig(), () => {});
  await component.down(ctx);
  await sleep(downtimeMs);
  await component.up(ctx);
}
