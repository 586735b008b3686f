// A real single-node cluster beside the control plane: containerd (with runc and the CNI bridge
// plugin from Debian's packages) and kubelet, kube-controller-manager, kube-scheduler and
// kube-proxy built from the same k8s.io/kubernetes module as the API server. Opt-in (`stack up
// --node`): the tests that run controllers as local processes need none of it.
//
// Pods live in network namespaces on a bridge of our own (nodeNetwork); nothing they send is
// forwarded off the bridge, and they resolve no names, so all traffic stays on this machine.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseEnv } from "node:util";
import { type Component, type Context, dataDir, type Env, loadState, saveState } from "./component.ts";
import { nodeNetwork, nodeWanted } from "./config.ts";
import { buildOperatorImage, ensureBaseImage, ensurePauseImage, imageNames } from "./images/images.ts";
import { kubeconfigYaml } from "./kube.ts";
import { ensureCa, ensureLeaf } from "./pki.ts";
import { freePort, run, serverPid, startServer, stopServer, waitUntil } from "./process.ts";
import { ensureGoTool, kubeNodeTool } from "./tools.ts";

interface NodeState {
  kubeletPort: number;
  kubeletHealthz: number;
  controllerManagerPort: number;
  schedulerPort: number;
  proxyHealthz: number;
  proxyMetrics: number;
  /** net.ipv4.ip_forward before the bridge plugin turned it on; restored by `down`. */
  ipForward: string;
}

/** Debian packages the node needs, by the command that shows each is installed. */
const packages: Array<[string, string]> = [
  ["/usr/bin/containerd", "containerd"],
  ["/usr/sbin/runc", "runc"],
  ["/usr/lib/cni/bridge", "containernetworking-plugins"],
  ["/usr/bin/buildah", "buildah"],
  ["/usr/sbin/debootstrap", "debootstrap"],
  ["/usr/sbin/iptables", "iptables"],
  ["/usr/sbin/conntrack", "conntrack"],
  ["/usr/sbin/ipset", "ipset"],
];

const paths = (ctx: Context) => {
  const root = dataDir(ctx, "node");
  return {
    root,
    containerd: join(root, "containerd"),
    socket: join(root, "containerd", "containerd.sock"),
    cni: join(root, "cni"),
    kubelet: join(root, "kubelet"),
    pki: join(dataDir(ctx, "kube"), "pki"),
  };
};

export function ensurePackages(log: (line: string) => void): void {
  const missing = packages.filter(([file]) => !existsSync(file)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  log(`installing ${missing.join(", ")} with apt-get (first run only)...`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  run("apt-get", ["update"], { env });
  run("apt-get", ["install", "-y", "--no-install-recommends", ...missing], { env });
}

function ctr(ctx: Context, args: string[]): string {
  return run("ctr", ["--address", paths(ctx).socket, "--namespace", "k8s.io", ...args]);
}

function containerdConfig(ctx: Context): string {
  const p = paths(ctx);
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${join(p.containerd, "root")}"
state = "${join(p.containerd, "state")}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "${p.socket}"

[plugins."io.containerd.internal.v1.opt"]
  path = "${join(p.containerd, "opt")}"

[${cri}]
  # Nothing can be pulled here: the sandbox image is the one the stack builds and imports.
  sandbox_image = "${imageNames.pause}"
  # These machines lack CAP_SYS_RESOURCE: runc cannot lower a sandbox's oom_score_adj below ours.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true

[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  BinaryName = "/usr/sbin/runc"
  SystemdCgroup = false

[${cri}.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "${join(p.cni, "net.d")}"
`;
}

function cniConfig(ctx: Context): string {
  return JSON.stringify(
    {
      cniVersion: "0.4.0",
      name: "kbo",
      plugins: [
        {
          type: "bridge",
          bridge: nodeNetwork.bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: nodeNetwork.podSubnet, gateway: nodeNetwork.host }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: join(paths(ctx).cni, "ipam"),
          },
        },
      ],
    },
    null,
    2,
  );
}

function kubeletConfig(ctx: Context, state: NodeState, ca: string, serving: { cert: string; key: string }): string {
  const p = paths(ctx);
  const resolv = join(p.root, "resolv.conf");
  // Pods resolve no names: everything they talk to is addressed by IP on this machine.
  writeFileSync(resolv, "# no name servers: pods on the local node reach only addresses on this machine\n");
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${nodeNetwork.host}
port: ${state.kubeletPort}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${state.kubeletHealthz}
tlsCertFile: ${JSON.stringify(serving.cert)}
tlsPrivateKeyFile: ${JSON.stringify(serving.key)}
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${JSON.stringify(ca)}}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://${p.socket}
cgroupDriver: cgroupfs
# The machine has a hybrid cgroup v1 layout.
failCgroupV1: false
failSwapOn: false
resolvConf: ${JSON.stringify(resolv)}
clusterDomain: cluster.local
maxPods: 50
serializeImagePulls: false
# Images cannot be pulled again: never collect them, and never evict for a full disk.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
enforceNodeAllocatable: []
cgroupsPerQOS: true
`;
}

function kubeconfigFor(ctx: Context, name: string, commonName: string, organization?: string): string {
  const p = paths(ctx);
  const ca = ensureCa(p.pki, "kube-ca");
  const cert = ensureLeaf(ca, p.pki, name, { commonName, ...(organization ? { organization } : {}), usage: "client" });
  const state = loadState<{ apiserver: number }>(ctx, "kube");
  if (!state) throw new Error("node: the kube component is not up");
  const file = join(p.root, `${name}.kubeconfig`);
  writeFileSync(
    file,
    kubeconfigYaml({
      server: `https://127.0.0.1:${state.apiserver}`,
      caFile: ca.cert,
      user: { "client-certificate": cert.cert, "client-key": cert.key },
    }),
  );
  return file;
}

/** The bridge pods attach to, with the host's address on it, and no way off it. */
function ensureNetwork(): void {
  const { bridge, host, podSubnet } = nodeNetwork;
  if (spawnSync("ip", ["link", "show", bridge]).status !== 0) {
    run("ip", ["link", "add", bridge, "type", "bridge"]);
  }
  const addrs = run("ip", ["-4", "-o", "addr", "show", "dev", bridge]);
  if (!addrs.includes(`${host}/`)) run("ip", ["addr", "add", `${host}/${podSubnet.split("/")[1]}`, "dev", bridge]);
  run("ip", ["link", "set", bridge, "up"]);
  // The bridge plugin turns on forwarding; this keeps pods' packets from being forwarded anywhere
  // but the bridge itself (the host's own addresses are delivered locally, not forwarded).
  const rule = ["FORWARD", "-s", podSubnet, "!", "-d", podSubnet, "-j", "DROP"];
  if (spawnSync("iptables", ["-C", ...rule]).status !== 0) run("iptables", ["-I", ...rule]);
}

const hostChain = "KBO-NODE-HOST";

/**
 * The stack's servers listen on loopback; pods reach each one at the host's bridge address, on
 * the same port, by a DNAT to 127.0.0.1 (route_localnet lets the kernel deliver that from the
 * bridge). Returns what each URL becomes for a pod.
 */
function exposeToPods(urls: Env): Env {
  const { bridge, host } = nodeNetwork;
  writeFileSync(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, "1");
  if (spawnSync("iptables", ["-t", "nat", "-N", hostChain]).status !== 0) run("iptables", ["-t", "nat", "-F", hostChain]);
  // From pods (PREROUTING), and from the machine itself (OUTPUT): a spec naming these addresses
  // works for a controller running as a local process and for the worker pods it starts alike.
  for (const jump of [
    ["PREROUTING", "-i", bridge, "-d", host, "-p", "tcp", "-j", hostChain],
    ["OUTPUT", "-d", host, "-p", "tcp", "-j", hostChain],
  ])
    if (spawnSync("iptables", ["-t", "nat", "-C", ...jump]).status !== 0) run("iptables", ["-t", "nat", "-A", ...jump]);
  const forPods: Env = {};
  for (const [name, value] of Object.entries(urls)) {
    const url = new URL(value);
    if (url.hostname !== "127.0.0.1" || !url.port) continue;
    const port = url.port;
    run("iptables", [
      "-t",
      "nat",
      "-A",
      hostChain,
      "-p",
      "tcp",
      "--dport",
      port,
      "-j",
      "DNAT",
      "--to-destination",
      `127.0.0.1:${port}`,
    ]);
    url.hostname = host;
    forPods[name] = url.toString().replace(/\/$/, value.endsWith("/") ? "/" : "");
  }
  return forPods;
}

function removeNetwork(ipForward: string | undefined): void {
  const { bridge, host, podSubnet } = nodeNetwork;
  spawnSync("iptables", ["-t", "nat", "-D", "PREROUTING", "-i", bridge, "-d", host, "-p", "tcp", "-j", hostChain]);
  spawnSync("iptables", ["-t", "nat", "-D", "OUTPUT", "-d", host, "-p", "tcp", "-j", hostChain]);
  spawnSync("iptables", ["-t", "nat", "-F", hostChain]);
  spawnSync("iptables", ["-t", "nat", "-X", hostChain]);
  spawnSync("iptables", ["-D", "FORWARD", "-s", podSubnet, "!", "-d", podSubnet, "-j", "DROP"]);
  spawnSync("ip", ["link", "delete", bridge]);
  if (ipForward !== undefined) writeFileSync("/proc/sys/net/ipv4/ip_forward", ipForward);
}

function trySysctl(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch {
    // Not every kernel here has it (br_netfilter); kube-proxy then says so in its log.
  }
}

async function importImage(ctx: Context, archive: string, name: string, always = false): Promise<void> {
  const have = ctr(ctx, ["images", "ls", "-q"]).split("\n");
  if (!always && have.includes(name)) return;
  ctr(ctx, ["images", "import", archive]);
}

export const node: Component = {
  name: "node",
  externalWhen: ["KUBECONFIG"],
  envPrefixes: ["KBO_NODE_"],

  wanted: nodeWanted,

  async up(ctx) {
    ensurePackages(ctx.log);
    const bin = ensureGoTool(ctx.config, kubeNodeTool(), ctx.log);
    const kubeEnv = loadState<{ apiserver: number }>(ctx, "kube");
    if (!kubeEnv) throw new Error("node: the kube component must be up first");
    const previous = loadState<NodeState>(ctx, "node");
    const state: NodeState = previous ?? {
      kubeletPort: await freePort(),
      kubeletHealthz: await freePort(),
      controllerManagerPort: await freePort(),
      schedulerPort: await freePort(),
      proxyHealthz: await freePort(),
      proxyMetrics: await freePort(),
      ipForward: readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim(),
    };
    saveState(ctx, "node", state);
    const p = paths(ctx);
    for (const dir of [p.containerd, join(p.cni, "net.d"), p.kubelet]) mkdirSync(dir, { recursive: true });

    ensureNetwork();
    trySysctl("/proc/sys/net/bridge/bridge-nf-call-iptables", "1");

    // containerd, with its own root, state and socket in the stack folder.
    writeFileSync(join(p.containerd, "config.toml"), containerdConfig(ctx));
    writeFileSync(join(p.cni, "net.d", "10-kbo.conflist"), cniConfig(ctx));
    if (serverPid(ctx.dirs, "containerd") === undefined) {
      startServer(ctx.dirs, { name: "containerd", command: "containerd", args: ["--config", join(p.containerd, "config.toml")] });
    }
    await waitUntil(
      "containerd",
      async () => existsSync(p.socket) && run("ctr", ["--address", p.socket, "version"]).includes("Server"),
      {
        timeoutMs: 30_000,
        dirs: ctx.dirs,
        server: "containerd",
      },
    );

    // Images: nothing can be pulled, so the sandbox and base images are imported before kubelet starts.
    await importImage(ctx, ensurePauseImage(ctx.config, ctx.log), imageNames.pause);
    await importImage(ctx, ensureBaseImage(ctx.config, ctx.log), imageNames.base);
    if (ctx.config.operatorImage) await importImage(ctx, buildOperatorImage(ctx.config, ctx.log), imageNames.operator, true);

    const ca = ensureCa(p.pki, "kube-ca");
    const serving = ensureLeaf(ca, p.pki, "kubelet-serving", {
      commonName: nodeNetwork.nodeName,
      hosts: [nodeNetwork.host, nodeNetwork.nodeName, "127.0.0.1"],
      usage: "server",
    });
    writeFileSync(join(p.root, "kubelet.yaml"), kubeletConfig(ctx, state, ca.cert, serving));
    const kubeletKubeconfig = kubeconfigFor(ctx, "kubelet", `system:node:${nodeNetwork.nodeName}`, "system:nodes");
    const running = serverPid(ctx.dirs, "kubelet") !== undefined;
    const kubeletStarted = running ? 0 : Date.now();
    if (!running) {
      startServer(ctx.dirs, {
        name: "kubelet",
        command: join(bin, "kubelet"),
        args: [
          `--config=${join(p.root, "kubelet.yaml")}`,
          `--kubeconfig=${kubeletKubeconfig}`,
          `--root-dir=${p.kubelet}`,
          `--cert-dir=${join(p.kubelet, "pki")}`,
          `--hostname-override=${nodeNetwork.nodeName}`,
          `--node-ip=${nodeNetwork.host}`,
          "--v=1",
        ],
      });
    }

    const controllerManagerKubeconfig = kubeconfigFor(ctx, "kube-controller-manager", "system:kube-controller-manager");
    if (serverPid(ctx.dirs, "kube-controller-manager") === undefined) {
      const kubePki = p.pki;
      startServer(ctx.dirs, {
        name: "kube-controller-manager",
        command: join(bin, "kube-controller-manager"),
        args: [
          `--kubeconfig=${controllerManagerKubeconfig}`,
          `--authentication-kubeconfig=${controllerManagerKubeconfig}`,
          `--authorization-kubeconfig=${controllerManagerKubeconfig}`,
          "--bind-address=127.0.0.1",
          `--secure-port=${state.controllerManagerPort}`,
          "--leader-elect=false",
          // Each controller acts as its own ServiceAccount, with what the bootstrap RBAC gives it.
          "--use-service-account-credentials=true",
          `--service-account-private-key-file=${join(kubePki, "service-account.key")}`,
          `--root-ca-file=${ca.cert}`,
          `--cluster-signing-cert-file=${ca.cert}`,
          `--cluster-signing-key-file=${ca.key}`,
          "--allocate-node-cidrs=false",
          "--v=1",
        ],
      });
    }

    const schedulerKubeconfig = kubeconfigFor(ctx, "kube-scheduler", "system:kube-scheduler");
    if (serverPid(ctx.dirs, "kube-scheduler") === undefined) {
      startServer(ctx.dirs, {
        name: "kube-scheduler",
        command: join(bin, "kube-scheduler"),
        args: [
          `--kubeconfig=${schedulerKubeconfig}`,
          `--authentication-kubeconfig=${schedulerKubeconfig}`,
          `--authorization-kubeconfig=${schedulerKubeconfig}`,
          "--bind-address=127.0.0.1",
          `--secure-port=${state.schedulerPort}`,
          "--leader-elect=false",
          "--v=1",
        ],
      });
    }

    const proxyKubeconfig = kubeconfigFor(ctx, "kube-proxy", "system:kube-proxy");
    if (serverPid(ctx.dirs, "kube-proxy") === undefined) {
      startServer(ctx.dirs, {
        name: "kube-proxy",
        command: join(bin, "kube-proxy"),
        args: [
          `--kubeconfig=${proxyKubeconfig}`,
          "--proxy-mode=iptables",
          `--cluster-cidr=${nodeNetwork.podSubnet}`,
          `--hostname-override=${nodeNetwork.nodeName}`,
          `--healthz-bind-address=127.0.0.1:${state.proxyHealthz}`,
          `--metrics-bind-address=127.0.0.1:${state.proxyMetrics}`,
          // Leave the machine's conntrack sysctls alone.
          "--conntrack-max-per-core=0",
          "--v=1",
        ],
      });
    }

    // What pods use to reach the stack's servers (the same servers, at the host's bridge address).
    const stackEnv = readStackEnvFile(ctx);
    const urls = Object.fromEntries(
      ["S3_ENDPOINT", "AZURE_BLOB_ENDPOINT", "GCS_ENDPOINT"].filter((k) => stackEnv[k]).map((k) => [k, stackEnv[k] as string]),
    );
    // Kafka advertises its pod listener at the host address itself (KAFKA_POD_BOOTSTRAP_SERVERS).
    for (const [i, server] of (stackEnv.KAFKA_POD_BOOTSTRAP_SERVERS ?? "").split(",").filter(Boolean).entries()) {
      urls[`KAFKA_POD_${i}`] = `tcp://127.0.0.1:${server.split(":").at(-1)}`;
    }
    const forPods = Object.fromEntries(
      Object.entries(exposeToPods(urls))
        .filter(([k]) => !k.startsWith("KAFKA_POD_"))
        .map(([k, v]) => [`KBO_NODE_${k}`, v]),
    );

    const env: Env = {
      ...forPods,
      KBO_NODE_NAME: nodeNetwork.nodeName,
      KBO_NODE_HOST_ADDRESS: nodeNetwork.host,
      // Set once the operator's image is in containerd (`stack up --operator-image`).
      ...(ctr(ctx, ["images", "ls", "-q"]).split("\n").includes(imageNames.operator)
        ? { KBO_NODE_IMAGE: imageNames.operator }
        : {}),
      KBO_NODE_BASE_IMAGE: imageNames.base,
      KBO_NODE_CONTAINERD: p.socket,
    };
    // Ready, from this kubelet: a node object left in etcd by an earlier run still says Ready.
    await waitUntil("node Ready", async () => nodeStatus(readKube(ctx), kubeletStarted - 1000).healthy, {
      timeoutMs: 120_000,
      dirs: ctx.dirs,
      server: "kubelet",
    });
    return env;
  },

  async health(ctx, env) {
    if (!loadState<NodeState>(ctx, "node")) return { healthy: true, detail: "not started (`stack up --node` starts it)" };
    const down = ["containerd", "kubelet", "kube-controller-manager", "kube-scheduler", "kube-proxy"].filter(
      (name) => serverPid(ctx.dirs, name) === undefined,
    );
    if (down.length) return { healthy: false, detail: `not running: ${down.join(", ")}` };
    return nodeStatus({ ...readKube(ctx), ...env }, Date.now() - leaseSeconds * 1000);
  },

  async down(ctx) {
    const state = loadState<NodeState>(ctx, "node");
    const p = paths(ctx);
    // Nothing may start new pods while the node's own are stopped.
    await stopServer(ctx.dirs, "kube-controller-manager");
    await stopServer(ctx.dirs, "kube-scheduler");
    if (serverPid(ctx.dirs, "kubelet") !== undefined && serverPid(ctx.dirs, "kube-apiserver") !== undefined) {
      // The kubelet stops its pods itself (containers, then the sandbox and its network).
      const kube = readKube(ctx);
      if (kube.KUBECTL && kube.KUBECONFIG) {
        spawnSync(kube.KUBECTL, [
          "--kubeconfig",
          kube.KUBECONFIG,
          "delete",
          "pods",
          "--all",
          "-A",
          "--wait=false",
          "--grace-period=5",
        ]);
        const deadline = Date.now() + 40_000;
        while (Date.now() < deadline && runningTasks(ctx).length > 0) await sleep(500);
      }
    }
    await stopServer(ctx.dirs, "kubelet");
    await stopServer(ctx.dirs, "kube-proxy");
    // Whatever the kubelet left: kill its tasks, so that the shims exit with them.
    if (serverPid(ctx.dirs, "containerd") !== undefined) {
      for (const id of runningTasks(ctx)) {
        spawnSync("ctr", ["--address", p.socket, "-n", "k8s.io", "tasks", "kill", "-s", "SIGKILL", id]);
      }
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && runningTasks(ctx).length > 0) await sleep(250);
    }
    await stopServer(ctx.dirs, "containerd");
    killOwnShims(p.socket);
    if (state) {
      const bin = join(ctx.config.cacheDir, "go", kubeNodeTool().name, "bin", "kube-proxy");
      if (existsSync(bin)) spawnSync(bin, ["--cleanup"], { stdio: "ignore" });
      unmountUnder(p.root);
      removeKubeChains();
      removeNetwork(state.ipForward);
    }
  },
};

/** The kubelet renews its node's Lease every 10 s; the node controller waits 40 s before it calls a node lost. */
const leaseSeconds = 40;

/** Ready, and the node's Lease renewed since `since` (ms): the kubelet is alive, not just its last report. */
function nodeStatus(kube: Env, since: number): { healthy: boolean; detail: string } {
  if (!kube.KUBECTL || !kube.KUBECONFIG) return { healthy: false, detail: "no kubeconfig" };
  const { nodeName } = nodeNetwork;
  try {
    const get = (args: string[]) =>
      run(kube.KUBECTL as string, ["--kubeconfig", kube.KUBECONFIG as string, "get", ...args]).trim();
    const ready = get([
      "node",
      nodeName,
      "-o",
      'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.nodeInfo.kubeletVersion} {.status.nodeInfo.containerRuntimeVersion}',
    ]);
    const renewed = Date.parse(get(["lease", "-n", "kube-node-lease", nodeName, "-o", "jsonpath={.spec.renewTime}"]));
    const [status, kubelet, runtime] = ready.split(" ");
    const fresh = renewed >= since;
    return {
      healthy: status === "True" && fresh,
      detail: `${nodeName} Ready=${status}, lease ${fresh ? "renewed" : "stale"}, kubelet ${kubelet}, ${runtime}`,
    };
  } catch (err) {
    return { healthy: false, detail: (err as Error).message.split("\n").slice(0, 2).join(" ") };
  }
}

function readStackEnvFile(ctx: Context): Env {
  const file = join(ctx.config.stateDir, "env");
  return existsSync(file) ? (parseEnv(readFileSync(file, "utf8")) as Env) : {};
}

function readKube(ctx: Context): Env {
  const { KUBECONFIG, KUBECTL } = readStackEnvFile(ctx);
  return KUBECONFIG && KUBECTL ? { KUBECONFIG, KUBECTL } : {};
}

function runningTasks(ctx: Context): string[] {
  const r = spawnSync("ctr", ["--address", paths(ctx).socket, "-n", "k8s.io", "tasks", "ls"], { encoding: "utf8" });
  if (r.status !== 0) return [];
  return r.stdout
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols[0] && cols[2] === "RUNNING")
    .map((cols) => cols[0] as string);
}

/** Shims outlive containerd by design; ours are the ones started with our socket's address. */
function killOwnShims(socket: string): void {
  const r = spawnSync("pgrep", ["-f", `containerd-shim-runc-v2 .*-address ${socket}`], { encoding: "utf8" });
  for (const pid of r.stdout.split("\n").filter(Boolean)) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // gone already
    }
  }
}

/**
 * The kubelet's own iptables chains (KUBE-FIREWALL, KUBE-KUBELET-CANARY, ...) outlive it; kube-proxy
 * --cleanup removes only its own. Only the local node makes KUBE-* chains on this machine.
 */
function removeKubeChains(): void {
  for (const tool of ["iptables", "ip6tables"]) {
    for (const table of ["filter", "nat", "mangle"]) {
      const saved = spawnSync(`${tool}-save`, ["-t", table], { encoding: "utf8" });
      if (saved.status !== 0) continue;
      const lines = saved.stdout.split("\n");
      for (const rule of lines.filter((l) => /^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j KUBE-/.test(l))) {
        const words = (rule.replace(/^-A /, "-D ").match(/"[^"]*"|\S+/g) ?? []).map((w) => w.replace(/^"(.*)"$/, "$1"));
        spawnSync(tool, ["-t", table, ...words]);
      }
      const chains = lines.filter((l) => l.startsWith(":KUBE-")).map((l) => l.slice(1).split(" ")[0] as string);
      for (const chain of chains) spawnSync(tool, ["-t", table, "-F", chain]);
      for (const chain of chains) spawnSync(tool, ["-t", table, "-X", chain]);
    }
  }
}

/** Mounts the kubelet (volumes) and containerd (rootfs, shm) left under the node's folder, deepest first. */
function unmountUnder(root: string): void {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((m): m is string => Boolean(m?.startsWith(`${root}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync("umount", ["-l", m]);
  rmSync(join(root, "containerd", "state"), { recursive: true, force: true });
}
