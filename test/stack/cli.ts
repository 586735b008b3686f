// `npm run stack -- up|down|status|env|sa-kubeconfig`: the local stack of real components.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { stackConfig } from "./config.ts";
import { serviceAccountKubeconfig } from "./kube.ts";
import { components, context, down, readStackEnv, status, up } from "./stack.ts";

const program = new Command("stack").description("the local stack of real components the tests and the demo run against");

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 5) throw new InvalidArgumentError("a broker count from 1 to 5");
  return n;
}

function names(value: string): string[] {
  const list = value.split(",").map((s) => s.trim());
  const known = components.map((c) => c.name);
  const unknown = list.filter((n) => !known.includes(n));
  if (unknown.length) throw new InvalidArgumentError(`unknown component ${unknown.join(", ")}; known: ${known.join(", ")}`);
  return list;
}

program
  .command("up")
  .description("build (first run only), start and health-check every component; writes .stack/env")
  .option("--kafka-brokers <n>", "Kafka nodes (combined broker+controller)", count, 1)
  .option("--kafka-version <version>", "Apache Kafka version from Maven Central (e.g. 3.9.1)")
  .option("--only <components>", "comma-separated subset", names)
  .option("--node", "also start the local node (containerd, kubelet, controller-manager, scheduler, kube-proxy)")
  .option("--operator-image", "build the operator's image from the Dockerfile and load it into the node (implies --node)")
  .action(
    async (opts: { kafkaBrokers: number; kafkaVersion?: string; only?: string[]; node?: boolean; operatorImage?: boolean }) => {
      const config = stackConfig({
        kafkaBrokers: opts.kafkaBrokers,
        ...(opts.kafkaVersion ? { kafkaVersion: opts.kafkaVersion } : {}),
        ...(opts.node || opts.operatorImage ? { node: true } : {}),
        ...(opts.operatorImage ? { operatorImage: true } : {}),
      });
      const started = Date.now();
      await up(context(config), opts.only);
      console.error(`stack up in ${((Date.now() - started) / 1000).toFixed(1)}s; environment in ${join(config.stateDir, "env")}`);
    },
  );

program
  .command("status")
  .description("health of every component")
  .option("--json", "machine-readable output")
  .action(async (opts: { json?: boolean }) => {
    const rows = await status(context(stackConfig()));
    if (opts.json) console.log(JSON.stringify(rows, null, 2));
    else
      for (const r of rows)
        console.log(`${r.healthy ? "healthy  " : "unhealthy"}  ${r.name.padEnd(9)} ${r.external ? "(yours) " : ""}${r.detail}`);
    if (rows.some((r) => !r.healthy)) process.exitCode = 1;
  });

program
  .command("down")
  .description("stop every component started here")
  .option("--purge", "also delete the stack's data (topics, objects, etcd)")
  .action(async (opts: { purge?: boolean }) => {
    const config = stackConfig();
    await down(context(config));
    if (opts.purge) rmSync(config.stateDir, { recursive: true, force: true });
    console.error("stack down");
  });

program
  .command("env")
  .description("print the stack's environment (dotenv)")
  .action(() => {
    for (const [k, v] of Object.entries(readStackEnv(stackConfig()))) console.log(`${k}='${v}'`);
  });

program
  .command("sa-kubeconfig")
  .description("write a kubeconfig that acts as a ServiceAccount (token from the TokenRequest API)")
  .argument("<namespace>")
  .argument("<name>")
  .argument("<file>")
  .action((namespace: string, name: string, file: string) => {
    console.log(serviceAccountKubeconfig(readStackEnv(stackConfig()), namespace, name, file));
  });

await program.parseAsync().catch((err: Error) => {
  console.error(`stack: ${err.message}`);
  process.exit(1);
});
