// The Pulumi program for real: `pulumi up` (the stack's CLI, language host and Kubernetes
// provider; a local file backend) against the stack's kube-apiserver creates the CRDs, RBAC and
// Deployments; each controller's ServiceAccount may do what it needs and nothing else (checked by
// the API server's own authorizer); the backup controller runs as a local process on its
// ServiceAccount's token and takes its Lease; a namespaced install reads Secrets only in its
// namespaces, and its backup controller completes a real backup on its ServiceAccount's token; a
// platform program importing the component previews; `pulumi destroy` removes it.
// No kubelet runs here, so the Deployments never get pods (`skipAwait`).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { nodeFlags, operatorControllers } from "../../infra/controllers.ts";
import { repoRoot, stackConfig } from "../stack/config.ts";
import { serviceAccountKubeconfig } from "../stack/kube.ts";
import { readStackEnv } from "../stack/stack.ts";
import { deleteNamespace, kubectl, kubectlTry, startController, waitFor } from "../support/kube.ts";
import { PulumiWorkspace } from "../support/pulumi.ts";
import { canINow } from "../support/rbac.ts";
import { stackEnv } from "../support/stack-env.ts";

const suffix = randomUUID().slice(0, 8);
const clusterNs = `kbo-pulumi-${suffix}`;
const scopedNs = `kbo-scoped-${suffix}`;
const teamNs = `kbo-team-${suffix}`;
const otherNs = `kbo-other-${suffix}`;
const image = "kafka-backup-operator:test";

const ws = new PulumiWorkspace();
// The repository's own program (Pulumi.yaml → infra/index.ts), run from a project folder of the test's.
const program = ws.project("operator", repoRoot, ["infra", "crds", "node_modules", "package.json"]);
const up = (stack: string) => ws.ok(["up", "--stack", stack, "--yes", "--skip-preview"], program);
const destroy = (stack: string) => ws.run(["destroy", "--stack", stack, "--yes", "--skip-preview"], program);
const configs: Record<string, Record<string, unknown>> = {
  cluster: { image, namespace: clusterNs, skipAwait: true },
  scoped: { image, namespace: scopedNs, watchNamespaces: [teamNs], installCrds: false, skipAwait: true },
};

/** `kubectl auth can-i` as a ServiceAccount: the API server's authorizer answers. */
function can(
  sa: string,
  namespace: string,
  verb: string,
  resource: string,
  opts: { in?: string; sub?: string; name?: string } = {},
): boolean {
  return canINow(`${namespace}/${sa}`, {
    verb,
    resource,
    namespace: opts.in ?? otherNs,
    ...(opts.sub ? { subresource: opts.sub } : {}),
    ...(opts.name ? { name: opts.name } : {}),
  });
}

before(async () => {
  kubectl(["create", "namespace", teamNs]);
  kubectl(["create", "namespace", otherNs]);
  for (const [stack, config] of Object.entries(configs)) await ws.stack(program, stack, config);
});

after(async () => {
  // Whatever failed, leave nothing behind.
  for (const stack of ["scoped", "cluster"]) await destroy(stack);
  for (const ns of [teamNs, otherNs, clusterNs, scopedNs]) deleteNamespace(ns);
  ws.dispose();
});

describe("pulumi up: a cluster-wide installation", () => {
  before(async () => {
    await up("cluster");
  });

  test("creates the CRDs, the namespace, per controller a ServiceAccount, ClusterRole, bindings and a Deployment", () => {
    const crds = kubectl(["get", "crd", "-o", "name"]);
    for (const plural of [
      "kafkabackups",
      "kafkarestores",
      "kafkaoffsetresets",
      "kafkaoffsetrollbacks",
      "kafkabackupvalidations",
    ]) {
      assert.match(crds, new RegExp(`customresourcedefinition.apiextensions.k8s.io/${plural}.kafka.oso.sh`));
    }
    for (const c of operatorControllers) {
      kubectl(["get", "serviceaccount", c.component, "-n", clusterNs]);
      kubectl(["get", "clusterrole", `${clusterNs}:${c.component}`]);
      kubectl(["get", "clusterrolebinding", `${clusterNs}:${c.component}`]);
      kubectl(["get", "role,rolebinding", `${c.component}-leader-election`, "-n", clusterNs]);
      const d = JSON.parse(kubectl(["get", "deployment", c.component, "-n", clusterNs, "-o", "json"]));
      const container = d.spec.template.spec.containers[0];
      assert.deepEqual(container.command, ["node", ...nodeFlags, `dist/controllers/${c.name}.js`]);
      assert.equal(container.image, image);
      assert.equal(container.securityContext.readOnlyRootFilesystem, true);
      assert.equal(d.spec.template.spec.securityContext.runAsNonRoot, true);
    }
    kubectl(["get", "service", "kafka-backup-operator-metrics", "-n", clusterNs]);
  });

  test("each ServiceAccount may do what its controller needs, and nothing more", () => {
    const all = ["kafkabackups", "kafkarestores", "kafkaoffsetresets", "kafkaoffsetrollbacks", "kafkabackupvalidations"];
    const plurals: Record<string, string> = {
      backup: "kafkabackups",
      restore: "kafkarestores",
      "offset-reset": "kafkaoffsetresets",
      "offset-rollback": "kafkaoffsetrollbacks",
      validation: "kafkabackupvalidations",
    };
    for (const c of operatorControllers) {
      const own = `${plurals[c.name]}.kafka.oso.sh`;
      const sa = (verb: string, resource: string, opts?: Parameters<typeof can>[4]) =>
        can(c.component, clusterNs, verb, resource, opts);
      const label = (what: string) => `${c.component}: ${what}`;
      for (const verb of ["get", "list", "watch", "patch", "update"]) assert.ok(sa(verb, own), label(`${verb} ${own}`));
      assert.ok(sa("list", own, { in: "*" }), label("lists its kind cluster-wide"));
      assert.ok(sa("patch", own, { sub: "status" }), label("patches status"));
      assert.ok(sa("update", own, { sub: "finalizers" }), label("updates finalizers"));
      assert.ok(!sa("delete", own), label("cannot delete its kind"));
      assert.ok(!sa("create", own), label("cannot create its kind"));
      for (const other of all.filter((p) => p !== plurals[c.name])) {
        assert.ok(!sa("patch", `${other}.kafka.oso.sh`), label(`cannot patch ${other}`));
        assert.ok(!sa("patch", `${other}.kafka.oso.sh`, { sub: "status" }), label(`cannot patch ${other} status`));
      }
      // Backups are read by whatever names one: restores, validations, and the offset controllers
      // (a from-mapping reset or a rollback reaches a restore's storage through its backup).
      assert.ok(sa("get", "kafkabackups.kafka.oso.sh"), label("get kafkabackups"));
      assert.equal(
        sa("get", "kafkarestores.kafka.oso.sh"),
        ["restore", "offset-reset", "offset-rollback"].includes(c.name),
        label("get kafkarestores"),
      );
      assert.equal(
        sa("get", "kafkaoffsetresets.kafka.oso.sh"),
        ["offset-reset", "offset-rollback"].includes(c.name),
        label("get kafkaoffsetresets"),
      );
      assert.equal(
        sa("list", "kafkabackups.kafka.oso.sh"),
        ["backup", "restore", "validation"].includes(c.name),
        label("list kafkabackups"),
      );
      assert.ok(sa("get", "secrets"), label("reads a Secret by name"));
      assert.ok(!sa("list", "secrets"), label("cannot list Secrets"));
      assert.ok(!sa("watch", "secrets"), label("cannot watch Secrets"));
      assert.ok(!sa("create", "secrets"), label("cannot create Secrets"));
      assert.ok(sa("create", "events"), label("creates Events"));
      const configMaps = ["restore", "offset-reset", "offset-rollback"].includes(c.name);
      assert.equal(sa("create", "configmaps"), configMaps, label("create configmaps"));
      assert.equal(sa("get", "configmaps"), configMaps, label("get configmaps"));
      assert.ok(!sa("delete", "configmaps"), label("cannot delete configmaps"));
      // Its own Lease only, in the operator's namespace only.
      assert.ok(sa("create", "leases.coordination.k8s.io", { in: clusterNs }), label("creates a Lease"));
      assert.ok(
        sa("update", "leases.coordination.k8s.io", { in: clusterNs, name: `${c.component}-leader` }),
        label("renews its Lease"),
      );
      const others = operatorControllers.filter((o) => o !== c);
      for (const o of others) {
        assert.ok(
          !sa("update", "leases.coordination.k8s.io", { in: clusterNs, name: `${o.component}-leader` }),
          label(`cannot renew ${o.component}'s Lease`),
        );
      }
      assert.ok(!sa("create", "leases.coordination.k8s.io", { in: otherNs }), label("no Leases elsewhere"));
      // execution.mode job: the backup and restore controllers create, read and delete worker Jobs; nothing else of batch.
      const jobs = ["backup", "restore"].includes(c.name);
      for (const verb of ["create", "get", "delete"]) assert.equal(sa(verb, "jobs.batch"), jobs, label(`${verb} jobs`));
      for (const verb of ["list", "watch", "update", "patch"]) assert.ok(!sa(verb, "jobs.batch"), label(`cannot ${verb} jobs`));
      assert.ok(!sa("create", "cronjobs.batch"), label("cannot create cronjobs"));
      for (const [verb, resource] of [
        ["create", "pods"],
        ["get", "pods"],
        ["create", "deployments.apps"],
        ["get", "nodes"],
        ["create", "rolebindings.rbac.authorization.k8s.io"],
        ["delete", "customresourcedefinitions.apiextensions.k8s.io"],
      ] as const) {
        assert.ok(!sa(verb, resource), label(`cannot ${verb} ${resource}`));
      }
    }
  });

  test("the backup controller runs on its ServiceAccount's token: it watches and takes its Lease", async () => {
    const env = readStackEnv(stackConfig());
    const kubeconfig = serviceAccountKubeconfig(env, clusterNs, "kafka-backup-controller", join(ws.dir, "backup-sa.kubeconfig"));
    const controller = await startController(
      "controllers/backup.ts",
      // Cluster-wide rules, but watching only the operator's (empty) namespace: the other tests'
      // KafkaBackups are not this controller's business.
      { POD_NAME: `backup-${suffix}`, LEADER_ELECTION_NAMESPACE: clusterNs, WATCH_NAMESPACES: clusterNs },
      kubeconfig,
    );
    try {
      const holder = await waitFor("the backup controller's Lease", () => {
        const r = kubectlTry([
          "get",
          "lease",
          "kafka-backup-controller-leader",
          "-n",
          clusterNs,
          "-o",
          "jsonpath={.spec.holderIdentity}",
        ]);
        return r.code === 0 && r.stdout ? r.stdout : undefined;
      });
      assert.equal(holder, `backup-${suffix}`);
      assert.doesNotMatch(controller.logs(), /forbidden/i);
    } finally {
      await controller.stop();
    }
  });
});

describe("pulumi up: a namespaced installation", () => {
  before(async () => {
    await up("scoped");
  });

  test("grants Roles only in the watched namespace: no Secrets, no custom resources anywhere else", () => {
    for (const c of operatorControllers) {
      assert.notEqual(kubectlTry(["get", "clusterrole", `${scopedNs}:${c.component}`]).code, 0, "no ClusterRole");
      const sa = (verb: string, resource: string, where: string) => can(c.component, scopedNs, verb, resource, { in: where });
      assert.ok(sa("get", "secrets", teamNs), `${c.component} reads Secrets in ${teamNs}`);
      for (const where of [otherNs, clusterNs, scopedNs, "default", "kube-system"]) {
        assert.ok(!sa("get", "secrets", where), `${c.component} cannot read Secrets in ${where}`);
      }
      assert.ok(!sa("get", "secrets", "*"), `${c.component} cannot read Secrets cluster-wide`);
      assert.ok(!sa("list", "kafkabackups.kafka.oso.sh", "*"), `${c.component} cannot list across namespaces`);
      assert.ok(!sa("get", "kafkabackups.kafka.oso.sh", otherNs), `${c.component} cannot read KafkaBackups in ${otherNs}`);
      assert.ok(sa("create", "leases.coordination.k8s.io", scopedNs), `${c.component} creates its Lease`);
      const env = JSON.parse(kubectl(["get", "deployment", c.component, "-n", scopedNs, "-o", "json"])).spec.template.spec
        .containers[0].env as Array<{ name: string; value?: string }>;
      assert.equal(env.find((e) => e.name === "WATCH_NAMESPACES")?.value, teamNs);
    }
  });
});

describe("pulumi up: the namespaced install's backup controller, on its ServiceAccount's token", () => {
  test("completes a real backup of a topic in the watched namespace", async () => {
    const kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
    const topic = `pulumi-${suffix}`;
    try {
      const admin = await kafka.admin();
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
      const producer = kafka.kafka.producer({ idempotent: true });
      await producer.connect();
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
      });
      await producer.disconnect();
    } finally {
      await kafka.close();
    }
    kubectl(
      ["apply", "-n", teamNs, "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "minio-credentials" },
        stringData: { AWS_ACCESS_KEY_ID: stackEnv("S3_ACCESS_KEY_ID"), AWS_SECRET_ACCESS_KEY: stackEnv("S3_SECRET_ACCESS_KEY") },
      }),
    );
    const kubeconfig = serviceAccountKubeconfig(
      readStackEnv(stackConfig()),
      scopedNs,
      "kafka-backup-controller",
      join(ws.dir, "scoped-backup-sa.kubeconfig"),
    );
    const controller = await startController(
      "controllers/backup.ts",
      { POD_NAME: `scoped-backup-${suffix}`, LEADER_ELECTION_NAMESPACE: scopedNs, WATCH_NAMESPACES: teamNs },
      kubeconfig,
    );
    try {
      kubectl(
        ["apply", "-n", teamNs, "-f", "-"],
        JSON.stringify({
          apiVersion: "kafka.oso.sh/v1alpha1",
          kind: "KafkaBackup",
          metadata: { name: "orders" },
          spec: {
            kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
            topics: [topic],
            stopAtCurrentOffsets: true,
            storage: {
              storageType: "s3",
              s3: {
                bucket: stackEnv("S3_BUCKET"),
                region: stackEnv("S3_REGION"),
                endpoint: stackEnv("S3_ENDPOINT"),
                pathStyle: true,
                allowHttp: true,
                prefix: `pulumi-${suffix}`,
                credentialsSecret: { name: "minio-credentials" },
              },
            },
          },
        }),
      );
      const status = await waitFor(
        "the backup to complete",
        () => {
          const s = JSON.parse(kubectl(["get", "kafkabackup", "orders", "-n", teamNs, "-o", "json"])).status as
            | { phase?: string; recordsProcessed?: number; message?: string }
            | undefined;
          if (s?.phase === "Failed") throw new Error(`backup failed: ${s.message}`);
          return s?.phase === "Completed" ? s : undefined;
        },
        180_000,
      );
      assert.equal(status.recordsProcessed, 100);
      const events = JSON.parse(kubectl(["get", "events", "-n", teamNs, "-o", "json"])).items as unknown[];
      assert.ok(events.length > 0, "the controller could record Events");
      assert.doesNotMatch(controller.logs(), /forbidden/i);
    } finally {
      kubectlTry(["delete", "kafkabackup", "orders", "-n", teamNs, "--timeout=30s"]);
      await controller.stop();
    }
  });
});

describe("a platform program importing the component", () => {
  test("pulumi preview of a stack that declares the operator and a typed KafkaBackup succeeds", async () => {
    const fixture = join(repoRoot, "test", "fixtures", "pulumi-platform");
    const dir = ws.project("platform", fixture, ["index.ts", join(repoRoot, "node_modules"), join(repoRoot, "package.json")]);
    await ws.stack(dir, "platform", { namespace: `kbo-platform-${suffix}` });
    const out = await ws.ok(["preview", "--stack", "platform", "--diff"], dir);
    assert.match(out, /kafka-backup-operator:index:KafkaBackupOperator/);
    assert.match(out, /kubernetes:kafka\.oso\.sh\/v1alpha1:KafkaBackup/);
  });
});

describe("pulumi destroy", () => {
  test("removes everything the installations made, and keeps the CRDs (keepCrds)", async () => {
    for (const stack of ["scoped", "cluster"]) {
      const r = await destroy(stack);
      assert.equal(r.code, 0, r.output.slice(-4000));
    }
    for (const c of operatorControllers) {
      assert.notEqual(kubectlTry(["get", "clusterrole", `${clusterNs}:${c.component}`]).code, 0);
      assert.notEqual(kubectlTry(["get", "clusterrolebinding", `${clusterNs}:${c.component}`]).code, 0);
      assert.notEqual(kubectlTry(["get", "role", c.component, "-n", teamNs]).code, 0);
      assert.notEqual(kubectlTry(["get", "rolebinding", c.component, "-n", teamNs]).code, 0);
    }
    // The namespaces are deleted (Terminating: no namespace controller runs here to empty them).
    for (const ns of [clusterNs, scopedNs]) {
      const r = kubectlTry(["get", "namespace", ns, "-o", "jsonpath={.status.phase}"]);
      assert.ok(r.code !== 0 || r.stdout === "Terminating", `${ns}: ${r.stdout}`);
      const left = kubectlTry(["get", "deployment,serviceaccount,role,rolebinding,service", "-n", ns, "-o", "name"]);
      assert.equal(
        left.stdout
          .trim()
          .split("\n")
          .filter((l) => l && !l.includes("serviceaccount/default")).length,
        0,
        left.stdout,
      );
    }
    assert.match(kubectl(["get", "crd", "-o", "name"]), /kafkabackups\.kafka\.oso\.sh/);
  });
});
