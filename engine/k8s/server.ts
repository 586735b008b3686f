// /metrics, /healthz and /readyz. Healthy: the process serves and its watches have not been
// failing for minutes. Ready: every watched namespace has been listed and no watch has failed for
// a minute (a standby replica is ready too: it only waits for the lease).
import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";

export interface Probes {
  healthy: () => boolean;
  ready: () => boolean;
}

export function startProbeServer(port: number, host: string, registry: Registry, probes: Probes): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/metrics") {
      registry.metrics().then(
        (body) => {
          res.writeHead(200, { "content-type": registry.contentType });
          res.end(body);
        },
        (err: Error) => {
          res.writeHead(500);
          res.end(err.message);
        },
      );
      return;
    }
    const probe =
      path === "/healthz" || path === "/health"
        ? probes.healthy
        : path === "/readyz" || path === "/ready"
          ? probes.ready
          : undefined;
    if (!probe) {
      res.writeHead(404);
      res.end("not found\n");
      return;
    }
    const ok = probe();
    res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" });
    res.end(ok ? "ok\n" : "not ready\n");
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
