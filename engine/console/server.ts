// The console's HTTP server (node:http): GET pages only, each rendered on the server from the
// storage locations it is given. It reads manifests (cached for a few seconds, so a page answers
// quickly however often it is reloaded) and, for the picker, runs the restore's dry run, which
// reads segments and asks the target cluster for its topics. It writes nothing, anywhere.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";
import { dryRunRestore } from "../restore/dry-run.ts";
import { restoreOptionsFromSpec } from "../restore/spec.ts";
import {
  type ConsoleLocation,
  isAvailable,
  type LocationView,
  type ManifestCache,
  readLocation,
  rpoOf,
  timelineOf,
  type UnavailableLocation,
} from "./location.ts";
import { type OperationsView, operationsPage } from "./operations.ts";
import { catalogPage, coveragePage, errorPage, type PickerView, pickerPage } from "./pages.ts";
import { chooseRestoreSet, parsePickerForm, restoreManifestYaml, restoreName, restoreSpecOf } from "./picker.ts";

export interface ConsoleOptions {
  /** The locations to show, asked again on every page (in a cluster, the KafkaBackups come and go). */
  locations: () => Promise<Array<ConsoleLocation | UnavailableLocation>>;
  /** Default 127.0.0.1: the console has no authentication of its own. */
  host?: string;
  port?: number;
  /** How long a location's manifests are reused (default 10 s). */
  cacheMs?: number;
  log?: Logger;
  /** The KafkaRestores and KafkaBackupValidations to show, asked on every page (only in a cluster). */
  operations?: () => Promise<OperationsView>;
  /**
   * Read every location's manifests once at start (default true), and answer /readyz 503 until
   * done: the first page a person opens then reads only what changed since, not every manifest.
   */
  warm?: boolean;
}

export interface RunningConsole {
  server: Server;
  url: string;
  /** Settles when the start's read of every location is done (at once without `warm`); never rejects. */
  warmed: Promise<void>;
  close(): Promise<void>;
}

/** Headers on every answer: no script, no frames, nothing loaded from elsewhere, no caching of pages. */
const securityHeaders = {
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
};

class NotFound extends Error {}

export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const log = options.log ?? silentLogger;
  const cacheMs = options.cacheMs ?? 10_000;
  const cache = new Map<string, { at: number; store: ConsoleLocation["store"]; view: Promise<LocationView> }>();
  // Per store (a KafkaBackup moved to other storage gets a new one): finished sets' manifests.
  const manifestCaches = new WeakMap<ConsoleLocation["store"], ManifestCache>();
  const dryRunTargets = new Map<string, ReturnType<ConsoleLocation["openDryRun"]>>();
  /** /readyz: after the start's read of the catalog (docs/console.md). */
  let ready = options.warm === false;

  const view = (location: ConsoleLocation): Promise<LocationView> => {
    const hit = cache.get(location.name);
    // A cached view is the same storage's only while the location is (a KafkaBackup edited to another bucket is read anew).
    if (hit && Date.now() - hit.at < cacheMs && hit.store === location.store) return hit.view;
    let manifests = manifestCaches.get(location.store);
    if (!manifests) {
      manifests = new Map();
      manifestCaches.set(location.store, manifests);
    }
    const fresh = readLocation(location, manifests);
    const entry = { at: Date.now(), view: fresh, store: location.store };
    cache.set(location.name, entry);
    fresh.catch(() => cache.delete(location.name));
    return fresh;
  };

  const find = async (name: string | null): Promise<{ location: ConsoleLocation; names: string[] }> => {
    const all = await options.locations();
    const names = all.map((l) => l.name);
    const found = name ? all.find((l) => l.name === name) : all.find(isAvailable);
    if (!found) throw new NotFound(name ? `no storage location "${name}"` : "no storage locations");
    if (!isAvailable(found)) throw new NotFound(`${found.name}: ${found.error}`);
    return { location: found, names };
  };

  const pages: Record<string, (url: URL) => Promise<string>> = {
    "/": async () => {
      const all = await options.locations();
      const views = await Promise.all(
        all.map((l) => (isAvailable(l) ? view(l).catch((err: Error) => ({ name: l.name, error: err.message })) : l)),
      );
      return catalogPage(views);
    },
    "/coverage": async (url) => {
      const { location, names } = await find(url.searchParams.get("location"));
      const v = await view(location);
      return coveragePage(v, timelineOf(v), rpoOf(v), names);
    },
    "/operations": async () => operationsPage(await options.operations?.()),
    "/restore": async (url) => {
      const { location, names } = await find(url.searchParams.get("location"));
      const v = await view(location);
      const { form, submitted, errors } = parsePickerForm(url.searchParams);
      const page: PickerView = { view: v, names, form, errors };
      if (submitted && !errors.length) {
        page.chosen = chooseRestoreSet(form, v.infos);
        const backupId = page.chosen.backupId;
        if (backupId) {
          try {
            const spec = restoreSpecOf(location, form, backupId);
            page.manifestYaml = restoreManifestYaml(location, spec, restoreName(location, form, Date.now()));
            let target = dryRunTargets.get(location.name);
            if (!target) {
              target = location.openDryRun();
              dryRunTargets.set(location.name, target);
              target.catch(() => dryRunTargets.delete(location.name));
            }
            const { kafka, encryptionKey } = await target;
            page.result = await dryRunRestore(kafka, location.store, {
              ...restoreOptionsFromSpec(spec),
              backupId,
              ...(encryptionKey ? { encryptionKey } : {}),
              signal: AbortSignal.timeout(120_000),
            });
          } catch (err) {
            page.failure = (err as Error).message;
          }
        }
      }
      return pickerPage(page);
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const started = Date.now();
    const url = new URL(req.url ?? "/", "http://console.invalid");
    const send = (status: number, body: string, type = "text/html; charset=utf-8", extra: Record<string, string> = {}) => {
      res.writeHead(status, { ...securityHeaders, "content-type": type, "content-length": Buffer.byteLength(body), ...extra });
      res.end(req.method === "HEAD" ? undefined : body);
      log.debug({ method: req.method, path: url.pathname, status, ms: Date.now() - started }, "console request");
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(405, errorPage("Method not allowed", "The console is read-only: it answers GET only."), undefined, {
        allow: "GET, HEAD",
      });
      return;
    }
    if (url.pathname === "/healthz" || (url.pathname === "/readyz" && ready)) {
      send(200, "ok\n", "text/plain; charset=utf-8");
      return;
    }
    if (url.pathname === "/readyz") {
      send(503, "reading the catalog\n", "text/plain; charset=utf-8");
      return;
    }
    const page = pages[url.pathname];
    if (!page) {
      send(404, errorPage("Not found", `No page ${url.pathname}.`));
      return;
    }
    try {
      send(200, await page(url));
    } catch (err) {
      if (err instanceof NotFound) send(404, errorPage("Not found", err.message));
      else {
        log.warn({ path: url.pathname, err: (err as Error).message }, "console page failed");
        send(500, errorPage("The page could not be made", (err as Error).message));
      }
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      log.error({ err: err.message }, "console request failed");
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 180_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8090, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const warmStarted = Date.now();
  const warmed = ready
    ? Promise.resolve()
    : options
        .locations()
        .then((all) => Promise.all(all.filter(isAvailable).map((l) => view(l).catch(() => undefined))))
        .then(
          (views) => log.info({ locations: views.length, ms: Date.now() - warmStarted }, "catalog read"),
          (err: Error) => log.warn({ err: err.message }, "could not read the catalog at start"),
        )
        .finally(() => {
          ready = true;
        });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${host}:${address.port}`,
    warmed,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const target of dryRunTargets.values()) {
        await target.then(({ kafka }) => kafka.close()).catch(() => {});
      }
    },
  };
}
