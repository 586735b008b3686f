// Faults injected into the local stack's real servers: a process paused (SIGSTOP) and continued,
// killed (SIGKILL), a component stopped and started again on the same ports and data, and a Kafka
// cluster of its own for faults the shared single broker cannot show (a leader kill needs
// replicas). Used by test/faults/ (run one file at a time, after the other tests, since every test
// shares these servers) and by the storage conformance tests' short pauses.
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Env } from "../stack/component.ts";
import { clustersDir, runDirs, type StackConfig, stackConfig } from "../stack/config.ts";
import { kafka } from "../stack/kafka.ts";
import { isAlive, type RunDirs, readPid, signalGroup } from "../stack/process.ts";
import { components, context } from "../stack/stack.ts";

function pidOf(processName: string, dirs: RunDirs): number {
  const pid = readPid(dirs, processName);
  if (pid === undefined) throw new Error(`no pid for ${processName}`);
  return pid;
}

/** Stops a stack server's process group (SIGSTOP) and continues it (SIGCONT) after `ms`; always continued. */
export function pauseServer(processName: string, ms: number): { resumed: Promise<void>; resume(): void } {
  const pid = pidOf(processName, runDirs(stackConfig()));
  let done = false;
  const resume = () => {
    if (done) return;
    done = true;
    signalGroup(pid, "SIGCONT");
    process.off("exit", resume);
  };
  process.on("exit", resume);
  signalGroup(pid, "SIGSTOP");
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

export interface KafkaCluster {
  /** The cluster's variables, as the stack's env file names them (KAFKA_BOOTSTRAP_SERVERS, …). */
  env: Env;
  bootstrapServers: string[];
  /** The node leading the KRaft metadata quorum: the active controller (Kafka's own MetadataQuorumCommand). */
  activeController(): number;
  /** SIGKILLs one node (1-based id) and waits until it is gone: no shutdown, no leadership handed over. */
  kill(nodeId: number): Promise<void>;
  /** Starts the nodes that are not running again (same ports and data) and waits for all of them. */
  startStopped(): Promise<void>;
  /** Stops every node and deletes the cluster's data. */
  destroy(): Promise<void>;
}

/**
 * A KRaft cluster of `brokers` combined broker+controller nodes, apart from the shared stack: its
 * own state folder under the stack's (`<stack>/clusters/<name>`), its own free ports. A cluster
 * left there by an earlier run that died is stopped and deleted first (and `stack down` stops it).
 */
export async function kafkaCluster(name: string, brokers: number): Promise<KafkaCluster> {
  const shared = stackConfig();
  const config: StackConfig = { ...shared, stateDir: join(clustersDir(shared), name), kafkaBrokers: brokers };
  const ctx = context(config, (line) => console.error(`[${name}] ${line}`));
  const destroy = async () => {
    await kafka.down(ctx);
    rmSync(config.stateDir, { recursive: true, force: true });
  };
  await destroy();
  try {
    // The component itself, not the stack's `up`: the shared stack's KAFKA_BOOTSTRAP_SERVERS in
    // this process's environment would make `up` take it for the user's own Kafka.
    const env = await kafka.up(ctx);
    return {
      env,
      bootstrapServers: (env.KAFKA_BOOTSTRAP_SERVERS ?? "").split(","),
      activeController: () => {
        const status = execFileSync(
          "java",
          [
            "-cp",
            `${env.KAFKA_LIB}/*`,
            "org.apache.kafka.tools.MetadataQuorumCommand",
            "--bootstrap-server",
            env.KAFKA_BOOTSTRAP_SERVERS ?? "",
            "describe",
            "--status",
          ],
          { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
        );
        const id = Number(/^LeaderId:\s+(\d+)/m.exec(status)?.[1]);
        if (!Number.isInteger(id)) throw new Error(`no quorum leader in:\n${status}`);
        return id;
      },
      kill: async (nodeId) => {
        const pid = pidOf(`kafka-${nodeId}`, ctx.dirs);
        signalGroup(pid, "SIGKILL");
        while (isAlive(pid)) await sleep(20);
      },
      startStopped: async () => {
        await kafka.up(ctx);
      },
      destroy,
    };
  } catch (err) {
    await destroy();
    throw err;
  }
}
