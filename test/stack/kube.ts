// A real Kubernetes control plane without nodes: etcd and kube-apiserver (what envtest runs),
// serving TLS from a generated CA with RBAC enforced, plus a kubectl of the same version.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Component, dataDir, type Env, loadState, saveState } from "./component.ts";
import { nodeNetwork, nodeWanted } from "./config.ts";
import { ensureCa, ensureLeaf, ensureRsaKey } from "./pki.ts";
import { freePort, run, serverPid, startServer, stopServer, waitUntil } from "./process.ts";
import { ensureGoTool, etcdTool, kubeTool } from "./tools.ts";

interface KubeState {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  /** Whether the running API server was started for the local node (see apiserverModeArgs). */
  forNode?: boolean;
}

export const kube: Component = {
  name: "kube",
  externalWhen: ["KUBECONFIG"],
  envPrefixes: ["KUBE"],

  async up(ctx) {
    const kubeBin = ensureGoTool(ctx.config, kubeTool(), ctx.log);
    const etcdBin = ensureGoTool(ctx.config, etcdTool(), ctx.log);
    const state: KubeState = loadState<KubeState>(ctx, "kube") ?? {
      etcdClient: await freePort(),
      etcdPeer: await freePort(),
      apiserver: await freePort(),
    };
    const forNode = nodeWanted(ctx.config);
    if (serverPid(ctx.dirs, "kube-apiserver") !== undefined && Boolean(state.forNode) !== forNode) {
      ctx.log(`kube: restarting kube-apiserver ${forNode ? "for" : "without"} the local node`);
      await stopServer(ctx.dirs, "kube-apiserver");
    }
    state.forNode = forNode;
    saveState(ctx, "kube", state);
    const root = dataDir(ctx, "kube");
    const pki = join(root, "pki");
    const ca = ensureCa(pki, "kube-ca");
    const serving = ensureLeaf(ca, pki, "apiserver", {
      commonName: "kube-apiserver",
      hosts: ["127.0.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "10.0.0.1"],
      usage: "server",
    });
    const admin = ensureLeaf(ca, pki, "admin", { commonName: "kbo-admin", organization: "system:masters", usage: "client" });
    const saKey = ensureRsaKey(pki, "service-account");

    if (serverPid(ctx.dirs, "etcd") === undefined) {
      const etcdUrl = `http://127.0.0.1:${state.etcdClient}`;
      const peerUrl = `http://127.0.0.1:${state.etcdPeer}`;
      startServer(ctx.dirs, {
        name: "etcd",
        command: join(etcdBin, "server"),
        args: [
          "--name",
          "default",
          "--data-dir",
          join(root, "etcd"),
          "--listen-client-urls",
          etcdUrl,
          "--advertise-client-urls",
          etcdUrl,
          "--listen-peer-urls",
          peerUrl,
          "--initial-advertise-peer-urls",
          peerUrl,
          "--initial-cluster",
          `default=${peerUrl}`,
          "--unsafe-no-fsync",
          "--quota-backend-bytes",
          String(4 * 1024 ** 3),
          "--log-level",
          "warn",
        ],
      });
    }
    await waitUntil("etcd", () => etcdHealthy(state.etcdClient), { timeoutMs: 30_000, dirs: ctx.dirs, server: "etcd" });

    if (serverPid(ctx.dirs, "kube-apiserver") === undefined) {
      startServer(ctx.dirs, {
        name: "kube-apiserver",
        command: join(kubeBin, "kube-apiserver"),
        args: [
          `--etcd-servers=http://127.0.0.1:${state.etcdClient}`,
          `--secure-port=${state.apiserver}`,
          `--tls-cert-file=${serving.cert}`,
          `--tls-private-key-file=${serving.key}`,
          `--client-ca-file=${ca.cert}`,
          `--cert-dir=${join(root, "certs")}`,
          "--anonymous-auth=false",
          "--service-cluster-ip-range=10.0.0.0/24",
          "--allow-privileged=true",
          `--service-account-issuer=https://127.0.0.1:${state.apiserver}`,
          `--service-account-key-file=${saKey.public}`,
          `--service-account-signing-key-file=${saKey.private}`,
          ...(forNode ? nodeModeArgs(admin) : controlPlaneOnlyArgs),
          "--v=0",
        ],
      });
    }
    const kubeconfig = join(root, "admin.kubeconfig");
    writeFileSync(
      kubeconfig,
      kubeconfigYaml({
        server: `https://127.0.0.1:${state.apiserver}`,
        caFile: ca.cert,
        user: { "client-certificate": admin.cert, "client-key": admin.key },
      }),
    );
    const env: Env = {
      KUBECONFIG: kubeconfig,
      KUBECTL: join(kubeBin, "kubectl"),
      KUBE_APISERVER_URL: `https://127.0.0.1:${state.apiserver}`,
      KUBE_CA_CERT: ca.cert,
    };
    await waitUntil("kube-apiserver", async () => (await this.health(ctx, env)).healthy, {
      timeoutMs: 90_000,
      dirs: ctx.dirs,
      server: "kube-apiserver",
    });
    return env;
  },

  async health(_ctx, env) {
    if (!env.KUBECTL || !env.KUBECONFIG) return { healthy: false, detail: "no kubeconfig" };
    try {
      const out = run(env.KUBECTL, ["--kubeconfig", env.KUBECONFIG, "get", "--raw", "/readyz"]).trim();
      const version = JSON.parse(run(env.KUBECTL, ["--kubeconfig", env.KUBECONFIG, "version", "-o", "json"])) as {
        serverVersion?: { gitVersion?: string };
      };
      return { healthy: out === "ok", detail: `readyz ${out}, server ${version.serverVersion?.gitVersion ?? "?"}` };
    } catch (err) {
      return { healthy: false, detail: (err as Error).message.split("\n").slice(0, 2).join(" ") };
    }
  },

  async down(ctx) {
    await stopServer(ctx.dirs, "kube-apiserver");
    await stopServer(ctx.dirs, "etcd");
  },
};

/** Without the local node: what envtest runs. */
const controlPlaneOnlyArgs = [
  "--bind-address=127.0.0.1",
  "--advertise-address=127.0.0.1",
  "--authorization-mode=RBAC",
  // No kubelet and no controller-manager run here: the ServiceAccount admission plugin would wait
  // for token controllers that do not exist (envtest does the same).
  "--disable-admission-plugins=ServiceAccount",
  // The "kubernetes" Service cannot point at a loopback address; nothing here needs it.
  "--endpoint-reconciler-type=none",
];

/**
 * With the local node: pods reach the API server through the \`kubernetes\` Service, whose endpoint
 * is the host's address on the node's bridge (so the server listens beyond loopback); pods get
 * ServiceAccount tokens; the kubelet is authorized as a node, and the API server reaches it for
 * logs and exec with the admin certificate.
 */
function nodeModeArgs(admin: { cert: string; key: string }): string[] {
  return [
    "--bind-address=0.0.0.0",
    `--advertise-address=${nodeNetwork.host}`,
    "--authorization-mode=Node,RBAC",
    "--enable-admission-plugins=NodeRestriction",
    `--kubelet-client-certificate=${admin.cert}`,
    `--kubelet-client-key=${admin.key}`,
    "--kubelet-preferred-address-types=InternalIP",
  ];
}

async function etcdHealthy(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
  return res.ok && ((await res.json()) as { health?: string }).health === "true";
}

export function kubeconfigYaml(o: { server: string; caFile: string; user: Record<string, string> }): string {
  const user = Object.entries(o.user)
    .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
    .join("\n");
  return `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: ${o.server}
    certificate-authority: ${JSON.stringify(o.caFile)}
users:
- name: user
  user:
${user}
contexts:
- name: local
  context:
    cluster: local
    user: user
current-context: local
`;
}

/**
 * A kubeconfig that acts as a ServiceAccount, with a token from the TokenRequest API: what a
 * controller's pod would hold in cluster. RBAC on the real API server then decides what it may do.
 */
export function serviceAccountKubeconfig(env: Env, namespace: string, name: string, file: string): string {
  const kubectl = env.KUBECTL;
  const admin = env.KUBECONFIG;
  if (!kubectl || !admin || !env.KUBE_APISERVER_URL || !env.KUBE_CA_CERT) throw new Error("the kube stack is not up");
  const token = run(kubectl, ["--kubeconfig", admin, "-n", namespace, "create", "token", name, "--duration", "24h"]).trim();
  writeFileSync(file, kubeconfigYaml({ server: env.KUBE_APISERVER_URL, caFile: env.KUBE_CA_CERT, user: { token } }));
  return file;
}
