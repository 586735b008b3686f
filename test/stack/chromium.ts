// Headless Chromium for the console's browser test: Debian's `chromium` package, installed with
// apt-get on first use (as the node's packages are, test/stack/node.ts), found on PATH afterwards.
// Nothing is downloaded from anywhere but Debian's package archive.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

const candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

/** The chromium binary, installing Debian's package when it is missing and we may (root with apt-get); else undefined with why. */
export function ensureChromium(log: (line: string) => void = () => {}): { path?: string; why?: string } {
  const found = candidates.find((p) => existsSync(p));
  if (found) return { path: found };
  if (process.getuid?.() !== 0) return { why: "chromium is not installed (apt-get install chromium, as root)" };
  if (!existsSync("/usr/bin/apt-get")) return { why: "chromium is not installed and there is no apt-get" };
  log("installing chromium with apt-get (first run only)...");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  try {
    execFileSync("apt-get", ["update"], { env, stdio: ["ignore", "ignore", "pipe"], timeout: 300_000 });
    execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "chromium", "fonts-dejavu-core"], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
      timeout: 900_000,
    });
  } catch (err) {
    return {
      why: `apt-get install chromium failed: ${(err as { stderr?: Buffer }).stderr?.toString().slice(-500) ?? (err as Error).message}`,
    };
  }
  const installed = candidates.find((p) => existsSync(p));
  return installed ? { path: installed } : { why: "apt-get installed chromium, but no chromium binary was found" };
}

if (import.meta.main) {
  const r = ensureChromium((line) => console.error(line));
  if (!r.path) {
    console.error(r.why);
    process.exit(1);
  }
  console.log(r.path);
}
