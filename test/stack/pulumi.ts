// Pulumi: the CLI, the Node.js language host and the Kubernetes provider, built from Go modules
// into the cache; a local file backend and a passphrase secrets provider in the stack's folder.
// Nothing runs: `up` builds (first run only) and writes the environment the CLI needs.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Component, dataDir, type Env, loadState, saveState } from "./component.ts";
import { run } from "./process.ts";
import { ensureGoTool, pulumiKubernetesTool, pulumiTool } from "./tools.ts";

interface PulumiState {
  passphrase: string;
}

/** The CLI finds the language host and the provider on PATH (as "ambient" plugins), so both sit beside it. */
function binDir(ctx: Parameters<Component["up"]>[0]): string {
  const cli = ensureGoTool(ctx.config, pulumiTool(), ctx.log);
  const provider = ensureGoTool(ctx.config, pulumiKubernetesTool(), ctx.log);
  const dir = join(ctx.config.cacheDir, "go", "pulumi-bin");
  mkdirSync(dir, { recursive: true });
  for (const [from, name] of [
    [cli, "pulumi"],
    [cli, "pulumi-language-nodejs"],
    [provider, "pulumi-resource-kubernetes"],
  ] as const) {
    run("ln", ["-sfn", join(from, name), join(dir, name)]);
  }
  return dir;
}

export const pulumi: Component = {
  name: "pulumi",
  externalWhen: ["PULUMI_BIN", "PULUMI_BACKEND_URL"],
  envPrefixes: ["PULUMI_"],

  async up(ctx) {
    const bin = binDir(ctx);
    const state: PulumiState = loadState<PulumiState>(ctx, "pulumi") ?? { passphrase: randomBytes(18).toString("base64url") };
    saveState(ctx, "pulumi", state);
    const root = dataDir(ctx, "pulumi");
    const home = join(root, "home");
    const backend = join(root, "backend");
    mkdirSync(home, { recursive: true });
    mkdirSync(backend, { recursive: true });
    const env: Env = {
      PULUMI_BIN: join(bin, "pulumi"),
      PULUMI_BIN_DIR: bin,
      PULUMI_HOME: home,
      PULUMI_BACKEND_URL: `file://${backend}`,
      PULUMI_CONFIG_PASSPHRASE: state.passphrase,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      // Plugins come from the stack's build, never from a download.
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
    const health = await this.health(ctx, env);
    if (!health.healthy) throw new Error(`pulumi: ${health.detail}`);
    return env;
  },

  async health(_ctx, env) {
    const cli = env.PULUMI_BIN;
    if (!cli || !existsSync(cli)) return { healthy: false, detail: "not built (npm run stack -- up)" };
    try {
      const version = run(cli, ["version"], {
        env: { PULUMI_HOME: env.PULUMI_HOME ?? "", PULUMI_SKIP_UPDATE_CHECK: "true" },
      }).trim();
      const backend = env.PULUMI_BACKEND_URL ?? "";
      if (!existsSync(backend.replace(/^file:\/\//, ""))) return { healthy: false, detail: `backend ${backend} is missing` };
      return { healthy: true, detail: `pulumi ${version}, backend ${backend}` };
    } catch (err) {
      return { healthy: false, detail: (err as Error).message };
    }
  },

  async down() {},
};
