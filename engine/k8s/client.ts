// The API server connection: in cluster (service account) or out of cluster (KUBECONFIG), and the
// few calls the runtime makes, as a thin typed layer over node:https with one keep-alive agent.
// Why not @kubernetes/client-node's generated clients: importing it costs a controller ~80 MiB of
// RSS (every API group's models and serializers load with its KubeConfig; measured 42 → 122 MiB),
// and it opens a new agent, so a new TLS connection, per request. Its types are still used (type
// imports only: erased at run time), and a kubeconfig whose user authenticates through an exec or
// auth-provider plugin is handed to its KubeConfig, loaded only then. HTTP errors are KubeApiErrors
// with the status `code`; a watch is a stream of JSON lines (docs/operations.md).
import { readFileSync } from "node:fs";
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { homedir } from "node:os";
import { dirname, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { CoreV1Event, V1ConfigMap, V1Job, V1Lease, V1Secret } from "@kubernetes/client-node";
import { parse as parseYaml } from "yaml";

/** An API call answered with an error status; `body` is the server's Status object (as text). */
export class KubeApiError extends Error {
  readonly code: number;
  readonly body: string;
  constructor(code: number, body: string, what: string) {
    super(`HTTP ${code} on ${what}`);
    this.name = "KubeApiError";
    this.code = code;
    this.body = body;
  }
}

export function httpCode(err: unknown): number | undefined {
  return err instanceof KubeApiError ? err.code : undefined;
}

/** A short description of an API error for logs and conditions (never a request body). */
export function apiErrorMessage(err: unknown): string {
  if (err instanceof KubeApiError) {
    try {
      const body = JSON.parse(err.body) as { message?: string };
      return `HTTP ${err.code}: ${body.message ?? "error"}`;
    } catch {
      return `HTTP ${err.code}`;
    }
  }
  return err instanceof Error ? err.message : String(err);
}

// ── Configuration ──────────────────────────────────────────────────────────────────────────────

interface Connection {
  server: URL;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecure?: boolean;
  tlsServerName?: string;
  /** The bearer token, read again when it is a file (projected tokens rotate). */
  token?: () => string | undefined;
  /** Headers and TLS material from client-node's KubeConfig (exec and auth-provider users). */
  plugin?: () => Promise<{ headers: Record<string, string>; ca?: Buffer; cert?: Buffer; key?: Buffer }>;
}

const serviceAccount = "/var/run/secrets/kubernetes.io/serviceaccount";

function fileToken(path: string): () => string | undefined {
  let cached: { value: string; at: number } | undefined;
  return () => {
    // Re-read at most once a minute: the kubelet rotates projected tokens well before expiry.
    if (!cached || Date.now() - cached.at > 60_000) cached = { value: readFileSync(path, "utf8").trim(), at: Date.now() };
    return cached.value;
  };
}

function inCluster(): Connection {
  const host = process.env.KUBERNETES_SERVICE_HOST as string;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? "443";
  return {
    server: new URL(`https://${host.includes(":") ? `[${host}]` : host}:${port}`),
    ca: readFileSync(`${serviceAccount}/ca.crt`),
    token: fileToken(`${serviceAccount}/token`),
  };
}

interface KubeconfigFile {
  "current-context"?: string;
  contexts?: Array<{ name: string; context: { cluster: string; user: string } }>;
  clusters?: Array<{ name: string; cluster: Record<string, string | boolean | undefined> }>;
  users?: Array<{ name: string; user?: Record<string, unknown> }>;
}

function fromKubeconfig(path: string): Connection {
  const file = parseYaml(readFileSync(path, "utf8")) as KubeconfigFile;
  const base = dirname(path);
  const context = file.contexts?.find((c) => c.name === file["current-context"])?.context ?? file.contexts?.[0]?.context;
  const cluster = file.clusters?.find((c) => c.name === context?.cluster)?.cluster;
  const user = file.users?.find((u) => u.name === context?.user)?.user ?? {};
  if (!cluster?.server) throw new Error(`kubeconfig ${path}: no cluster for context ${file["current-context"] ?? "(first)"}`);
  const material = (data: unknown, file: unknown) =>
    typeof data === "string"
      ? Buffer.from(data, "base64")
      : typeof file === "string"
        ? readFileSync(resolve(base, file))
        : undefined;
  const c: Connection = {
    server: new URL(String(cluster.server)),
    ca: material(cluster["certificate-authority-data"], cluster["certificate-authority"]),
    cert: material(user["client-certificate-data"], user["client-certificate"]),
    key: material(user["client-key-data"], user["client-key"]),
    insecure: cluster["insecure-skip-tls-verify"] === true,
    tlsServerName: typeof cluster["tls-server-name"] === "string" ? cluster["tls-server-name"] : undefined,
  };
  if (typeof user.token === "string") {
    const token = user.token;
    c.token = () => token;
  } else if (typeof user.tokenFile === "string") c.token = fileToken(resolve(base, user.tokenFile));
  else if (user.exec || user["auth-provider"] || typeof user.username === "string") c.plugin = pluginAuth(path);
  return c;
}

/** Users that authenticate through a plugin (exec, auth-provider) or basic auth: client-node does it. */
function pluginAuth(path: string): Connection["plugin"] {
  let config: Promise<{ applyToHTTPSOptions(o: Record<string, unknown>): Promise<void> }> | undefined;
  return async () => {
    config ??= import("@kubernetes/client-node").then(({ KubeConfig }) => {
      const kc = new KubeConfig();
      kc.loadFromFile(path);
      return kc as unknown as { applyToHTTPSOptions(o: Record<string, unknown>): Promise<void> };
    });
    const options: { headers?: Record<string, string>; ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
    await (await config).applyToHTTPSOptions(options);
    return { headers: options.headers ?? {}, ca: options.ca, cert: options.cert, key: options.key };
  };
}

// ── Requests ───────────────────────────────────────────────────────────────────────────────────

type Query = Record<string, string | number | boolean | undefined>;

interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
}

export class KubeApi {
  private readonly c: Connection;
  private readonly agent: HttpAgent;
  /** Told of every request once its response status is known (the /metrics request counter). */
  onResponse: (method: string, code: number) => void = () => {};

  constructor(c: Connection) {
    this.c = c;
    const tls = {
      ca: c.ca,
      cert: c.cert,
      key: c.key,
      rejectUnauthorized: !c.insecure,
      ...(c.tlsServerName ? { servername: c.tlsServerName } : {}),
    };
    // One agent, kept alive: requests reuse connections instead of a handshake each. No socket
    // limit: each watch (one per watched namespace) holds a connection for minutes.
    this.agent =
      c.server.protocol === "https:"
        ? new HttpsAgent({ keepAlive: true, keepAliveMsecs: 30_000, ...tls })
        : new HttpAgent({ keepAlive: true, keepAliveMsecs: 30_000 });
  }

  /** The server's address (for messages). */
  get server(): string {
    return this.c.server.origin;
  }

  private async open(method: string, path: string, o: RequestOptions, signal?: AbortSignal): Promise<IncomingMessage> {
    const url = new URL(path, this.c.server);
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: OutgoingHttpHeaders = { accept: "application/json" };
    const token = this.c.token?.();
    if (token) headers.authorization = `Bearer ${token}`;
    let tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
    if (this.c.plugin) {
      const p = await this.c.plugin();
      Object.assign(headers, p.headers);
      tls = { ca: p.ca, cert: p.cert, key: p.key };
    }
    const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
    if (payload) {
      headers["content-type"] = o.contentType ?? "application/json";
      headers["content-length"] = payload.length;
    }
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    // Plugin users may bring their own TLS material: those requests skip the shared agent.
    const agent = this.c.plugin && (tls.ca || tls.cert) ? undefined : this.agent;
    return await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, {
        method,
        headers,
        agent,
        ...(agent ? {} : { ...tls, rejectUnauthorized: !this.c.insecure }),
        signal,
      });
      req.once("response", (res: IncomingMessage) => {
        this.onResponse(method, res.statusCode ?? 0);
        resolve(res);
      });
      req.once("error", reject);
      req.end(payload);
    });
  }

  async request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const res = await this.open(method, path, o, AbortSignal.timeout(60_000));
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    if ((res.statusCode ?? 0) >= 300) throw new KubeApiError(res.statusCode ?? 0, text, `${method} ${path}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /**
   * A watch: calls `onEvent` for each event until the server ends the stream (resolves) or the
   * connection fails (rejects). `idleMs` is a backstop for a connection that died without closing.
   */
  async watch(
    path: string,
    query: Query,
    onEvent: (type: string, object: Record<string, unknown>) => void,
    signal: AbortSignal,
    idleMs: number,
  ): Promise<void> {
    let res: IncomingMessage;
    try {
      res = await this.open("GET", path, { query: { ...query, watch: true } }, signal);
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
    if ((res.statusCode ?? 0) >= 300) {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      throw new KubeApiError(res.statusCode ?? 0, Buffer.concat(chunks).toString("utf8"), `watch ${path}`);
    }
    res.socket?.setTimeout(idleMs, () => res.destroy(new Error(`watch ${path}: nothing received for ${idleMs / 1000} s`)));
    try {
      for await (const line of createInterface({ input: res, crlfDelay: Number.POSITIVE_INFINITY })) {
        if (!line) continue;
        const event = JSON.parse(line) as { type: string; object: Record<string, unknown> };
        onEvent(event.type, event.object);
      }
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    } finally {
      res.socket?.setTimeout(0);
      res.destroy();
    }
    if (!res.complete && !signal.aborted) throw new Error(`watch ${path}: the connection closed mid-stream`);
  }
}

// ── The calls the runtime makes ────────────────────────────────────────────────────────────────

interface CustomObjectRef {
  group: string;
  version: string;
  plural: string;
  namespace: string;
}
const mergePatchType = "application/merge-patch+json";
const crPath = (r: { group: string; version: string; plural: string; namespace?: string }, name?: string, sub?: string) =>
  `/apis/${r.group}/${r.version}${r.namespace ? `/namespaces/${r.namespace}` : ""}/${r.plural}${name ? `/${name}` : ""}${sub ? `/${sub}` : ""}`;
const ns = (namespace: string, resource: string, name?: string, group = "/api/v1") =>
  `${group}/namespaces/${namespace}/${resource}${name ? `/${name}` : ""}`;
const listQuery = (o: { resourceVersion?: string; resourceVersionMatch?: string; limit?: number; _continue?: string }) => ({
  resourceVersion: o.resourceVersion,
  resourceVersionMatch: o.resourceVersionMatch,
  limit: o.limit,
  continue: o._continue,
});
type ListOptions = { resourceVersion?: string; resourceVersionMatch?: string; limit?: number; _continue?: string };

export interface Kube {
  api: KubeApi;
  objects: ReturnType<typeof customObjects>;
  core: ReturnType<typeof core>;
  coordination: ReturnType<typeof coordination>;
  /** Worker Jobs (execution.mode job). */
  batch: ReturnType<typeof batch>;
}

function customObjects(api: KubeApi) {
  return {
    listNamespacedCustomObject: (r: CustomObjectRef & ListOptions) =>
      api.request<unknown>("GET", crPath(r), { query: listQuery(r) }),
    listClusterCustomObject: (r: Omit<CustomObjectRef, "namespace"> & ListOptions) =>
      api.request<unknown>("GET", crPath(r), { query: listQuery(r) }),
    getNamespacedCustomObject: (r: CustomObjectRef & { name: string }) => api.request<unknown>("GET", crPath(r, r.name)),
    createNamespacedCustomObject: (r: CustomObjectRef & { body: unknown }) =>
      api.request<unknown>("POST", crPath(r), { body: r.body }),
    /** A JSON merge patch. */
    patchNamespacedCustomObject: (r: CustomObjectRef & { name: string; body: unknown }) =>
      api.request<unknown>("PATCH", crPath(r, r.name), { body: r.body, contentType: mergePatchType }),
    /** A JSON merge patch of the status subresource. */
    patchNamespacedCustomObjectStatus: (r: CustomObjectRef & { name: string; body: unknown }) =>
      api.request<unknown>("PATCH", crPath(r, r.name, "status"), { body: r.body, contentType: mergePatchType }),
    deleteNamespacedCustomObject: (r: CustomObjectRef & { name: string }) => api.request<unknown>("DELETE", crPath(r, r.name)),
  };
}

function core(api: KubeApi) {
  return {
    readNamespacedSecret: (r: { namespace: string; name: string }) =>
      api.request<V1Secret>("GET", ns(r.namespace, "secrets", r.name)),
    createNamespacedEvent: (r: { namespace: string; body: CoreV1Event }) =>
      api.request<CoreV1Event>("POST", ns(r.namespace, "events"), { body: r.body }),
    readNamespacedConfigMap: (r: { namespace: string; name: string }) =>
      api.request<V1ConfigMap>("GET", ns(r.namespace, "configmaps", r.name)),
    listNamespacedConfigMap: (r: { namespace: string; labelSelector?: string }) =>
      api.request<{ items: V1ConfigMap[] }>("GET", ns(r.namespace, "configmaps"), { query: { labelSelector: r.labelSelector } }),
    createNamespacedConfigMap: (r: { namespace: string; body: V1ConfigMap }) =>
      api.request<V1ConfigMap>("POST", ns(r.namespace, "configmaps"), { body: r.body }),
    replaceNamespacedConfigMap: (r: { namespace: string; name: string; body: V1ConfigMap }) =>
      api.request<V1ConfigMap>("PUT", ns(r.namespace, "configmaps", r.name), { body: r.body }),
  };
}

function coordination(api: KubeApi) {
  const leases = (namespace: string, name?: string) => ns(namespace, "leases", name, "/apis/coordination.k8s.io/v1");
  return {
    readNamespacedLease: (r: { namespace: string; name: string }) => api.request<V1Lease>("GET", leases(r.namespace, r.name)),
    createNamespacedLease: (r: { namespace: string; body: V1Lease }) =>
      api.request<V1Lease>("POST", leases(r.namespace), { body: r.body }),
    replaceNamespacedLease: (r: { namespace: string; name: string; body: V1Lease }) =>
      api.request<V1Lease>("PUT", leases(r.namespace, r.name), { body: r.body }),
  };
}

function batch(api: KubeApi) {
  const jobs = (namespace: string, name?: string) => ns(namespace, "jobs", name, "/apis/batch/v1");
  return {
    createNamespacedJob: (r: { namespace: string; body: V1Job }) =>
      api.request<V1Job>("POST", jobs(r.namespace), { body: r.body }),
    readNamespacedJob: (r: { namespace: string; name: string }) => api.request<V1Job>("GET", jobs(r.namespace, r.name)),
    deleteNamespacedJob: (r: { namespace: string; name: string; propagationPolicy?: string }) =>
      api.request<unknown>("DELETE", jobs(r.namespace, r.name), { query: { propagationPolicy: r.propagationPolicy } }),
  };
}

/** In a pod: its service account. Otherwise KUBECONFIG (or ~/.kube/config). */
export function connectKube(kubeconfigPath = process.env.KUBECONFIG): Kube {
  const connection =
    kubeconfigPath || !process.env.KUBERNETES_SERVICE_HOST
      ? fromKubeconfig(kubeconfigPath?.split(":")[0] || resolve(homedir(), ".kube", "config"))
      : inCluster();
  const api = new KubeApi(connection);
  return { api, objects: customObjects(api), core: core(api), coordination: coordination(api), batch: batch(api) };
}
