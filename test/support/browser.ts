// A real browser for the console's tests: headless Chromium (test/stack/chromium.ts installs
// Debian's package), driven over the DevTools protocol with Node's own WebSocket. A page is
// loaded, laid out and painted as a person's browser does it; the test then asks the browser what
// it drew (element boxes, visible text) and can take a screenshot.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

interface Pending {
  resolve: (v: Record<string, unknown>) => void;
  reject: (e: Error) => void;
}

export class Browser {
  private readonly child: ChildProcess;
  private readonly ws: WebSocket;
  private readonly profile: string;
  private next = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners: Array<(method: string, params: Record<string, unknown>, sessionId?: string) => void> = [];

  private constructor(child: ChildProcess, ws: WebSocket, profile: string) {
    this.child = child;
    this.ws = ws;
    this.profile = profile;
    ws.addEventListener("message", (e) => {
      const msg = JSON.parse(String(e.data)) as {
        id?: number;
        result?: Record<string, unknown>;
        error?: { message: string };
        method?: string;
        params?: Record<string, unknown>;
        sessionId?: string;
      };
      if (msg.id !== undefined) {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(msg.error.message));
        else p?.resolve(msg.result ?? {});
      } else if (msg.method) for (const l of this.listeners) l(msg.method, msg.params ?? {}, msg.sessionId);
    });
  }

  static async launch(chromium: string, size = { width: 1280, height: 900 }): Promise<Browser> {
    const profile = mkdtempSync(join(tmpdir(), "kbo-chromium-"));
    const child = spawn(
      chromium,
      [
        "--headless",
        // The tests run as root, where Chromium's sandbox cannot start.
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        `--window-size=${size.width},${size.height}`,
        "--remote-debugging-port=0",
        `--user-data-dir=${profile}`,
        "about:blank",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`chromium did not start: ${stderr.slice(-2000)}`)), 60_000);
      child.stderr?.on("data", (d: Buffer) => {
        stderr += d.toString("utf8");
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once("exit", (code) => reject(new Error(`chromium exited (${code}): ${stderr.slice(-2000)}`)));
    });
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)), { once: true });
    });
    return new Browser(child, ws, profile);
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }

  /** A new tab showing `url`, once its load event fired. */
  async open(url: string): Promise<Tab> {
    const { targetId } = (await this.send("Target.createTarget", { url: "about:blank" })) as { targetId: string };
    const { sessionId } = (await this.send("Target.attachToTarget", { targetId, flatten: true })) as { sessionId: string };
    await this.send("Page.enable", {}, sessionId);
    const loaded = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${url} did not load`)), 120_000);
      this.listeners.push((method, _params, sid) => {
        if (method === "Page.loadEventFired" && sid === sessionId) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const nav = (await this.send("Page.navigate", { url }, sessionId)) as { errorText?: string };
    if (nav.errorText) throw new Error(`${url}: ${nav.errorText}`);
    await loaded;
    return new Tab(this, sessionId, targetId);
  }

  async close(): Promise<void> {
    await this.send("Browser.close").catch(() => {});
    this.ws.close();
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.profile, { recursive: true, force: true });
  }
}

export class Tab {
  private readonly browser: Browser;
  private readonly sessionId: string;
  private readonly targetId: string;

  constructor(browser: Browser, sessionId: string, targetId: string) {
    this.browser = browser;
    this.sessionId = sessionId;
    this.targetId = targetId;
  }

  /** Evaluates an expression in the page (DevTools evaluation; the page's own CSP allows no script) and returns its JSON value. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = (await this.browser.send("Runtime.evaluate", { expression, returnByValue: true }, this.sessionId)) as {
      result: { value: T };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    };
    if (r.exceptionDetails)
      throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value;
  }

  /** A PNG of the whole page. */
  async screenshot(file: string): Promise<number> {
    const r = (await this.browser.send(
      "Page.captureScreenshot",
      { format: "png", captureBeyondViewport: true },
      this.sessionId,
    )) as { data: string };
    const png = Buffer.from(r.data, "base64");
    writeFileSync(file, png);
    return png.length;
  }

  async close(): Promise<void> {
    await this.browser.send("Target.closeTarget", { targetId: this.targetId });
  }
}
