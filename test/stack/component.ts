// What every component of the local stack provides. A component either runs here (started by us,
// its ports and secrets remembered in its state) or is the user's own service, named by the
// environment variables the component would otherwise write.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StackConfig } from "./config.ts";
import type { RunDirs } from "./process.ts";

export type Env = Record<string, string>;

export interface Context {
  config: StackConfig;
  dirs: RunDirs;
  log: (line: string) => void;
}

export interface Health {
  healthy: boolean;
  detail: string;
}

export interface Component {
  name: string;
  /** Variables which, when all set by the user, mean "use my service instead". */
  externalWhen: string[];
  /** Prefixes of every variable the component writes (and takes from the user when external). */
  envPrefixes: string[];
  /** Whether `up` starts it; absent means always (the local node is opt-in). */
  wanted?(config: StackConfig): boolean;
  /** Starts the component (or finds it running) and returns the variables tests need. */
  up(ctx: Context): Promise<Env>;
  health(ctx: Context, env: Env): Promise<Health>;
  down(ctx: Context): Promise<void>;
}

/** Per-component state (chosen ports, generated passwords) kept across `up` calls. */
export function loadState<T>(ctx: Context, name: string): T | undefined {
  const file = join(ctx.config.stateDir, "state", `${name}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as T) : undefined;
}

export function saveState<T>(ctx: Context, name: string, state: T): void {
  const dir = join(ctx.config.stateDir, "state");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(state, null, 2)}\n`);
}

export function dataDir(ctx: Context, name: string): string {
  const dir = join(ctx.config.stateDir, "data", name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
