// The local node (`npm run stack -- up --node`): pods scheduled by the real scheduler run in
// containerd on the stack's bridge; the operator's image, built from the Dockerfile with buildah,
// runs as its Deployments would (non-root, read-only root filesystem) and reaches the API server
// in cluster, through the `kubernetes` Service (kube-proxy) with its projected ServiceAccount
// token. Skipped when the stack runs no node.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { stackConfig } from "../stack/config.ts";
import { readStackEnv } from "../stack/stack.ts";
import { createNamespace, deleteNamespace, kubectl, kubectlTry, waitFor } from "../support/kube.ts";

const env = { ...readStackEnv(stackConfig()), ...process.env };
const skip = env.KBO_NODE_NAME ? false : "the stack runs no node (npm run stack -- up --node)";

interface PodStatus {
  status?: { phase?: string; containerStatuses?: Array<{ state?: { terminated?: { exitCode?: number; reason?: string } } }> };
}

/** Runs a pod to its end and returns its phase, exit code and log. */
async function runPod(namespace: string, name: string, spec: Record<string, unknown>) {
  kubectl(
    ["apply", "-n", namespace, "-f", "-"],
    JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name }, spec: { restartPolicy: "Never", ...spec } }),
  );
  const pod = await waitFor(
    `pod ${namespace}/${name} to finish`,
    () => {
      const p = JSON.parse(kubectl(["get", "pod", "-n", namespace, name, "-o", "json"])) as PodStatus;
      return p.status?.phase === "Succeeded" || p.status?.phase === "Failed" ? p : undefined;
    },
    120_000,
  );
  const log = kubectlTry(["logs", "-n", namespace, name]);
  return {
    phase: pod.status?.phase,
    exitCode: pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode,
    log: log.stdout + log.stderr,
  };
}

describe("the local node", { skip }, () => {
  let namespace = "";
  before(async () => {
    namespace = createNamespace("node");
    // The ServiceAccount controller (kube-controller-manager) gives every namespace its default account.
    await waitFor(
      "the default ServiceAccount",
      () => kubectlTry(["get", "sa", "-n", namespace, "default"]).code === 0 || undefined,
    );
  });
  after(() => deleteNamespace(namespace));

  test("node is Ready, with containerd as its runtime", () => {
    const node = JSON.parse(kubectl(["get", "node", String(env.KBO_NODE_NAME), "-o", "json"])) as {
      status: { conditions: Array<{ type: string; status: string }>; nodeInfo: { containerRuntimeVersion: string } };
    };
    assert.equal(node.status.conditions.find((c) => c.type === "Ready")?.status, "True");
    assert.match(node.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\//);
  });

  test("a pod from the base image runs to Completed; its log comes back through the kubelet", async () => {
    const run = await runPod(namespace, "hello", {
      containers: [
        {
          name: "main",
          image: env.KBO_NODE_BASE_IMAGE,
          imagePullPolicy: "IfNotPresent",
          command: ["sh", "-c", "echo hello from $(hostname)"],
        },
      ],
    });
    assert.equal(run.phase, "Succeeded", run.log);
    assert.equal(run.exitCode, 0);
    assert.match(run.log, /hello from hello/);
  });

  test("a failing container fails its pod with the exit code", async () => {
    const run = await runPod(namespace, "fails", {
      containers: [
        { name: "main", image: env.KBO_NODE_BASE_IMAGE, imagePullPolicy: "IfNotPresent", command: ["sh", "-c", "exit 3"] },
      ],
    });
    assert.equal(run.phase, "Failed");
    assert.equal(run.exitCode, 3);
  });
});

describe("the operator's image on the local node", {
  skip: skip || (env.KBO_NODE_IMAGE ? false : "no operator image (npm run stack -- up --operator-image)"),
}, () => {
  let namespace = "";
  before(async () => {
    namespace = createNamespace("image");
    await waitFor(
      "the default ServiceAccount",
      () => kubectlTry(["get", "sa", "-n", namespace, "default"]).code === 0 || undefined,
    );
  });
  after(() => deleteNamespace(namespace));

  // What the Deployments ask for (infra/operator.ts); runc enforces it.
  const restricted = {
    runAsNonRoot: true,
    runAsUser: 1000,
    runAsGroup: 1000,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
  };

  test("runs Node.js 24 as uid 1000 on a read-only root filesystem", async () => {
    const script = [
      "node --version",
      "id -u",
      "touch /app/written 2>/dev/null && echo root-writable || echo root-read-only",
      "node dist/cli/kafka-backup.js --help >/dev/null && echo cli-ok",
    ].join("; ");
    const run = await runPod(namespace, "version", {
      containers: [
        {
          name: "main",
          image: env.KBO_NODE_IMAGE,
          imagePullPolicy: "IfNotPresent",
          command: ["sh", "-c", script],
          securityContext: restricted,
        },
      ],
    });
    assert.equal(run.phase, "Succeeded", run.log);
    const [version, uid, root, cli] = run.log.trim().split("\n");
    assert.match(version ?? "", /^v24\./);
    assert.equal(uid, "1000");
    assert.equal(root, "root-read-only");
    assert.equal(cli, "cli-ok");
  });

  test("reaches the API server in cluster: the kubernetes Service, a projected token, the cluster CA", async () => {
    const script = `
      const fs = require("node:fs");
      const dir = "/var/run/secrets/kubernetes.io/serviceaccount";
      const url = "https://" + process.env.KUBERNETES_SERVICE_HOST + ":" + process.env.KUBERNETES_SERVICE_PORT + "/api/v1/namespaces/" + fs.readFileSync(dir + "/namespace", "utf8") + "/pods";
      require("node:https").get(url, { ca: fs.readFileSync(dir + "/ca.crt"), headers: { authorization: "Bearer " + fs.readFileSync(dir + "/token", "utf8") } }, (res) => {
        let body = ""; res.on("data", (d) => (body += d)); res.on("end", () => { console.log(res.statusCode, JSON.parse(body).message ?? ""); });
      }).on("error", (e) => { console.log("error", e.message); process.exit(1); });`;
    const run = await runPod(namespace, "in-cluster", {
      containers: [
        {
          name: "main",
          image: env.KBO_NODE_IMAGE,
          imagePullPolicy: "IfNotPresent",
          command: ["node", "-e", script],
          securityContext: restricted,
        },
      ],
    });
    assert.equal(run.phase, "Succeeded", run.log);
    // Authenticated as the namespace's default ServiceAccount, which RBAC lets list nothing.
    assert.match(run.log, new RegExp(`^403 pods is forbidden: User "system:serviceaccount:${namespace}:default" cannot list`));
  });
});
