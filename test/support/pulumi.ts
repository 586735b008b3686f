// The real Pulumi CLI (built by the stack) with a local file backend and passphrase secrets in a
// temporary folder of the test's own, against the stack's API server.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { repoRoot } from "../stack/config.ts";
import { stackEnv } from "./stack-env.ts";

export interface PulumiResult {
  code: number;
  output: string;
}

export class PulumiWorkspace {
  readonly dir: string;
  readonly env: Record<string, string>;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), "kbo-pulumi-"));
    mkdirSync(join(this.dir, "backend"));
    mkdirSync(join(this.dir, "home"));
    this.env = {
      PATH: [stackEnv("PULUMI_BIN_DIR"), join(repoRoot, "node_modules", ".bin"), process.env.PATH ?? ""].join(":"),
      HOME: process.env.HOME ?? "/root",
      KUBECONFIG: stackEnv("KUBECONFIG"),
      PULUMI_HOME: join(this.dir, "home"),
      PULUMI_BACKEND_URL: `file://${join(this.dir, "backend")}`,
      PULUMI_CONFIG_PASSPHRASE: randomBytes(18).toString("base64url"),
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
  }

  /** Deletes the workspace (backend, state, stack files). */
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Runs the CLI; resolves with its exit code and output (never throws on a non-zero exit). */
  run(args: string[], cwd = repoRoot): Promise<PulumiResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(stackEnv("PULUMI_BIN"), [...args, "--non-interactive"], { cwd, env: this.env });
      let output = "";
      child.stdout.on("data", (d: Buffer) => (output += d));
      child.stderr.on("data", (d: Buffer) => (output += d));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code: code ?? 1, output }));
    });
  }

  /** Runs the CLI and throws with its output unless it succeeds. */
  async ok(args: string[], cwd = repoRoot): Promise<string> {
    const r = await this.run(args, cwd);
    if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} exited with ${r.code}:\n${r.output.slice(-6000)}`);
    return r.output;
  }

  /**
   * A project folder in the workspace for a program in the repository: its Pulumi.yaml, and links
   * to what the program loads. Stack files (Pulumi.<stack>.yaml) are written there, never into the
   * repository.
   */
  project(name: string, source: string, links: string[]): string {
    const dir = join(this.dir, name);
    mkdirSync(dir);
    copyFileSync(join(source, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
    for (const link of links)
      symlinkSync(join(link.startsWith("/") ? "" : source, link), join(dir, link.split("/").at(-1) ?? link));
    return dir;
  }

  /** Creates a stack and writes its config (keys without the project prefix). */
  async stack(projectDir: string, stack: string, config: Record<string, unknown>): Promise<void> {
    await this.ok(["stack", "init", stack], projectDir);
    const project = (parse(readFileSync(join(projectDir, "Pulumi.yaml"), "utf8")) as { name: string }).name;
    const file = join(projectDir, `Pulumi.${stack}.yaml`);
    // `stack init` wrote the passphrase provider's salt here; keep it.
    const current = existsSync(file) ? ((parse(readFileSync(file, "utf8")) as Record<string, unknown> | null) ?? {}) : {};
    const entries = Object.fromEntries(Object.entries(config).map(([k, v]) => [k.includes(":") ? k : `${project}:${k}`, v]));
    writeFileSync(file, stringify({ ...current, config: entries }));
  }
}
