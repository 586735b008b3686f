// A local HTTP receiver on 127.0.0.1 standing in for Slack, PagerDuty and custom webhooks: it
// records every request and answers as told (status, delay).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  method: string;
  path: string;
  body: string;
  json: unknown;
}

export interface Receiver {
  url: string;
  requests: Received[];
  /** How to answer a path: status and an optional delay. Default 200 at once. */
  answer(path: string, status: number, delayMs?: number): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: Received[] = [];
  const answers = new Map<string, { status: number; delayMs: number }>();
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d));
    req.on("end", () => {
      const path = (req.url ?? "/").split("?")[0] as string;
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      requests.push({ method: req.method ?? "", path, body, json });
      const a = answers.get(path) ?? { status: 200, delayMs: 0 };
      setTimeout(() => {
        if (!res.destroyed) res.writeHead(a.status, { "content-type": "application/json" }).end("{}");
      }, a.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answer: (path, status, delayMs = 0) => void answers.set(path, { status, delayMs }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
