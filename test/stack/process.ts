// Starting, watching and stopping the stack's long-running servers. Each server runs detached in
// its own process group with its output in a log file, and its pid in a file, so `stack down` (or
// a later `stack up`) can find it again from another process.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface ServerSpec {
  /** Unique name; also names the pid and log files. */
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

export interface RunDirs {
  pids: string;
  logs: string;
}

export function logPath(dirs: RunDirs, name: string): string {
  return join(dirs.logs, `${name}.log`);
}

export function startServer(dirs: RunDirs, spec: ServerSpec): number {
  mkdirSync(dirs.pids, { recursive: true });
  mkdirSync(dirs.logs, { recursive: true });
  const out = openSync(logPath(dirs, spec.name), "a");
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    detached: true,
    stdio: ["ignore", out, out],
  });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${spec.command})`);
  child.unref();
  writeFileSync(join(dirs.pids, `${spec.name}.pid`), String(child.pid));
  return child.pid;
}

export function readPid(dirs: RunDirs, name: string): number | undefined {
  const file = join(dirs.pids, `${name}.pid`);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers signal 0; it is not running.
  const stat = spawnSync("ps", ["-o", "stat=", "-p", String(pid)], { encoding: "utf8" });
  return !stat.stdout.trim().startsWith("Z");
}

export function serverPid(dirs: RunDirs, name: string): number | undefined {
  const pid = readPid(dirs, name);
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

/** SIGTERM the server's process group, then SIGKILL what is left after the grace period. */
export async function stopServer(dirs: RunDirs, name: string, graceMs = 10_000): Promise<boolean> {
  const pid = readPid(dirs, name);
  rmSync(join(dirs.pids, `${name}.pid`), { force: true });
  if (pid === undefined || !isAlive(pid)) return false;
  signalGroup(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isAlive(pid)) await sleep(100);
  signalGroup(pid, "SIGKILL");
  while (isAlive(pid)) await sleep(50);
  return true;
}

/** Signals a server's process group (it runs detached, as its leader), or the process alone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * The first port the kernel hands out as the local port of outgoing connections (and for
 * `listen(0)`); ports below it are never taken by a client's connection.
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32768;
  } catch {
    return 32768;
  }
}

/** Ports handed out by this process: a second cluster started here never gets a port twice. */
const handedOut = new Set<number>();

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now, never one this process handed out
 * before, and below the kernel's ephemeral range when there is room: a server stopped and started
 * again (a fault test's broker) finds its port still free, since no client connection can have
 * taken it as its local port meanwhile.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  for (let attempt = 0; attempt < 50; attempt++) {
    const candidate = low > 11_000 ? 10_000 + Math.floor(Math.random() * (low - 10_000)) : 0;
    const port = await listenOn(candidate).catch(() => undefined);
    if (port !== undefined && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("no free TCP port found on 127.0.0.1");
}

async function listenOn(port: number): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

export async function portOpen(port: number, host = "127.0.0.1"): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.setTimeout(1000);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Polls `check` until it returns true. Fails early, with the tail of the server's log, when the
 * server process has died.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; dirs?: RunDirs; server?: string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (opts.dirs && opts.server && serverPid(opts.dirs, opts.server) === undefined) {
      throw new Error(`${what}: ${opts.server} exited\n${logTail(opts.dirs, opts.server)}`);
    }
    if (Date.now() > deadline) {
      const tail = opts.dirs && opts.server ? `\n${logTail(opts.dirs, opts.server)}` : "";
      throw new Error(`${what}: not ready after ${opts.timeoutMs / 1000}s${tail}`);
    }
    await sleep(250);
  }
}

export function logTail(dirs: RunDirs, name: string, lines = 30): string {
  const file = logPath(dirs, name);
  if (!existsSync(file)) return "(no log)";
  return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
}

/** Runs a short command to completion; throws with its output when it fails. */
export function run(command: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): string {
  const result = spawnSync(command, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new Error(`${command}: ${result.error.message}`);
  if (result.status !== 0) {
    const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.split("\n").slice(-40).join("\n");
    throw new Error(`${command} ${args.join(" ")} exited with ${result.status}\n${output}`);
  }
  return result.stdout;
}
