// The local stack as a whole: bring every component up (or use the user's own), write `.stack/env`,
// report health, and take it all down again.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";
import type { Component, Context, Env, Health } from "./component.ts";
import { clustersDir, envFile, runDirs, type StackConfig } from "./config.ts";
import { kafka } from "./kafka.ts";
import { kube } from "./kube.ts";
import { node } from "./node.ts";
import { azurite, fakeGcs, minio } from "./objectstores.ts";
import { pulumi } from "./pulumi.ts";

// The node comes last: it needs the API server, and exposes the other servers to its pods.
export const components: Component[] = [kafka, kube, minio, azurite, fakeGcs, pulumi, node];

export function context(config: StackConfig, log: (line: string) => void = (l) => console.error(l)): Context {
  return { config, dirs: runDirs(config), log };
}

/** The user's own service stands in for a component when all its variables are set. */
export function isExternal(component: Component): boolean {
  return component.externalWhen.every((name) => Boolean(process.env[name]));
}

export function readStackEnv(config: StackConfig): Env {
  const file = envFile(config);
  return existsSync(file) ? (parseEnv(readFileSync(file, "utf8")) as Env) : {};
}

function writeStackEnv(config: StackConfig, env: Env): void {
  mkdirSync(config.stateDir, { recursive: true });
  const lines = Object.entries(env)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}='${v}'`);
  writeFileSync(envFile(config), `# written by \`npm run stack -- up\`; source it or load it as dotenv\n${lines.join("\n")}\n`);
}

export async function up(ctx: Context, only?: string[]): Promise<Env> {
  const env = readStackEnv(ctx.config);
  for (const component of components) {
    if (only && !only.includes(component.name)) continue;
    const started = Date.now();
    if (component.wanted && !component.wanted(ctx.config)) {
      ctx.log(`${component.name}: not started (\`stack up --${component.name}\` starts it)`);
      continue;
    }
    if (isExternal(component)) {
      Object.assign(env, externalEnv([component]));
      ctx.log(`${component.name}: using your own (${component.externalWhen.join(", ")} set)`);
      continue;
    }
    Object.assign(env, await component.up(ctx));
    writeStackEnv(ctx.config, env);
    ctx.log(`${component.name}: up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }
  writeStackEnv(ctx.config, env);
  return env;
}

export async function status(ctx: Context): Promise<Array<{ name: string; external: boolean } & Health>> {
  const env = { ...readStackEnv(ctx.config), ...externalEnv(components.filter(isExternal)) };
  return await Promise.all(
    components.map(async (c) => ({ name: c.name, external: isExternal(c), ...(await c.health(ctx, env)) })),
  );
}

/** Every variable of the user's that belongs to these components (by prefix). */
function externalEnv(of: Component[]): Env {
  const env: Env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && of.some((c) => c.envPrefixes.some((p) => name.startsWith(p)))) env[name] = value;
  }
  return env;
}

export async function down(ctx: Context): Promise<void> {
  // A fault test's own cluster is stopped by the test; one left by a run that died is stopped here.
  const clusters = clustersDir(ctx.config);
  for (const name of existsSync(clusters) ? readdirSync(clusters) : []) {
    await kafka.down(context({ ...ctx.config, stateDir: join(clusters, name) }, ctx.log));
  }
  for (const component of [...components].reverse()) {
    if (isExternal(component)) continue;
    await component.down(ctx);
  }
}
