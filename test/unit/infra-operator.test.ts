// The KafkaBackupOperator component under Pulumi's mocks: which objects it makes, each
// controller's RBAC rule by rule, the Deployments' security and runtime settings, the options,
// the argument errors, and that deploy/ is exactly what the component renders.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { group } from "../../crds/generated/types.ts";
import { operatorControllers, type PolicyRule } from "../../infra/controllers.ts";
import { KafkaBackupOperator, type KafkaBackupOperatorArgs, typeToken } from "../../infra/operator.ts";
import { deployArgs, deployDir, deployFiles, recordResources, renderOperator, settled } from "../../infra/render.ts";

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped JSON, read by path
type Obj = Record<string, any>;

const image = "registry.example.com/kafka-backup-operator:1.2.3";
const byKind = (objects: Obj[], kind: string) => objects.filter((o) => o.kind === kind);
const named = (objects: Obj[], kind: string, name: string, namespace?: string): Obj => {
  const found = objects.find(
    (o) => o.kind === kind && o.metadata.name === name && (!namespace || o.metadata.namespace === namespace),
  );
  assert.ok(found, `${kind} ${namespace ? `${namespace}/` : ""}${name} exists`);
  return found;
};
const sortRules = (rules: PolicyRule[]) => rules.map((r) => JSON.stringify({ ...r, verbs: [...r.verbs].sort() })).sort();

describe("KafkaBackupOperator: the default, cluster-wide installation", async () => {
  const objects: Obj[] = await renderOperator({ image });

  test("makes the CRDs, the namespace and per controller a ServiceAccount, RBAC and a Deployment", () => {
    const count = (kind: string) => byKind(objects, kind).length;
    assert.equal(count("CustomResourceDefinition"), 5);
    assert.deepEqual(
      byKind(objects, "CustomResourceDefinition")
        .map((o) => o.metadata.name)
        .sort(),
      [
        "kafkabackups.kafka.oso.sh",
        "kafkabackupvalidations.kafka.oso.sh",
        "kafkaoffsetresets.kafka.oso.sh",
        "kafkaoffsetrollbacks.kafka.oso.sh",
        "kafkarestores.kafka.oso.sh",
      ],
    );
    assert.equal(count("Namespace"), 1);
    assert.equal(named(objects, "Namespace", "kafka-backup-system").kind, "Namespace");
    for (const kind of ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Deployment"]) assert.equal(count(kind), 5, kind);
    // Only the Lease Roles are namespaced in a cluster-wide install.
    assert.equal(count("Role"), 5);
    assert.equal(count("RoleBinding"), 5);
    assert.equal(count("Service"), 1);
    assert.equal(count("PodDisruptionBudget"), 0);
    assert.equal(count("ServiceMonitor"), 0);
  });

  test("each controller's ClusterRole grants exactly its own kind, Events, Secrets by name, and its reads", () => {
    const own = (plural: string): PolicyRule[] => [
      { apiGroups: [group], resources: [plural], verbs: ["get", "list", "watch", "patch", "update"] },
      { apiGroups: [group], resources: [`${plural}/status`], verbs: ["get", "patch", "update"] },
      { apiGroups: [group], resources: [`${plural}/finalizers`], verbs: ["update"] },
      { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
      { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
    ];
    const readBackups = { apiGroups: [group], resources: ["kafkabackups"], verbs: ["get", "list", "watch"] };
    const configMaps = { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "create", "update", "patch"] };
    // execution.mode job: create, read by name and delete the run's Job; nothing else of batch.
    const jobs = { apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "create", "delete"] };
    const expected: Record<string, PolicyRule[]> = {
      "kafka-backup-controller": [...own("kafkabackups"), jobs],
      "kafka-restore-controller": [...own("kafkarestores"), readBackups, configMaps, jobs],
      "kafka-offset-reset-controller": [
        ...own("kafkaoffsetresets"),
        configMaps,
        { apiGroups: [group], resources: ["kafkarestores", "kafkabackups"], verbs: ["get"] },
      ],
      "kafka-offset-rollback-controller": [
        ...own("kafkaoffsetrollbacks"),
        configMaps,
        { apiGroups: [group], resources: ["kafkaoffsetresets", "kafkarestores", "kafkabackups"], verbs: ["get"] },
      ],
      "kafka-backup-validation-controller": [...own("kafkabackupvalidations"), readBackups],
    };
    for (const [component, rules] of Object.entries(expected)) {
      const role = named(objects, "ClusterRole", `kafka-backup-system:${component}`);
      assert.deepEqual(sortRules(role.rules), sortRules(rules), component);
      const binding = named(objects, "ClusterRoleBinding", `kafka-backup-system:${component}`);
      assert.deepEqual(binding.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name });
      assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: component, namespace: "kafka-backup-system" }]);
    }
    // Nobody lists or watches Secrets, deletes anything but its worker Jobs, or touches other workloads.
    for (const role of byKind(objects, "ClusterRole")) {
      for (const rule of role.rules as PolicyRule[]) {
        const workerJobs = rule.apiGroups.includes("batch");
        if (workerJobs) assert.deepEqual(rule, jobs, `${role.metadata.name}: worker Jobs only`);
        assert.ok(
          workerJobs || (!rule.verbs.includes("delete") && !rule.verbs.includes("*")),
          `${role.metadata.name}: no delete`,
        );
        if (rule.resources.includes("secrets")) assert.deepEqual(rule.verbs, ["get"]);
        assert.ok(!rule.apiGroups.includes("apps") && !rule.resources.includes("pods"), `${role.metadata.name}: no workloads`);
      }
    }
  });

  test("each controller may create a Lease and renew only its own, in the operator's namespace", () => {
    for (const c of operatorControllers) {
      const role = named(objects, "Role", `${c.component}-leader-election`, "kafka-backup-system");
      assert.deepEqual(role.rules, [
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
        {
          apiGroups: ["coordination.k8s.io"],
          resources: ["leases"],
          resourceNames: [`${c.component}-leader`],
          verbs: ["get", "update", "patch"],
        },
      ]);
      const binding = named(objects, "RoleBinding", `${c.component}-leader-election`, "kafka-backup-system");
      assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: c.component, namespace: "kafka-backup-system" }]);
    }
  });

  test("every Deployment runs its own bundle, non-root, read-only, with a writable /tmp and probes on the metrics port", () => {
    for (const c of operatorControllers) {
      const d = named(objects, "Deployment", c.component, "kafka-backup-system");
      const pod = d.spec.template.spec;
      assert.equal(pod.serviceAccountName, c.component);
      assert.deepEqual(d.spec.selector.matchLabels, {
        "app.kubernetes.io/component": c.component,
        "app.kubernetes.io/part-of": "kafka-backup-operator",
      });
      for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) assert.equal(d.spec.template.metadata.labels[k], v);
      assert.deepEqual(pod.securityContext, {
        fsGroup: 1000,
        runAsGroup: 1000,
        runAsNonRoot: true,
        runAsUser: 1000,
        seccompProfile: { type: "RuntimeDefault" },
      });
      assert.equal(pod.containers.length, 1);
      const [container] = pod.containers;
      assert.equal(container.image, image);
      assert.deepEqual(container.command, [
        "node",
        "--max-semi-space-size=2",
        "--v8-pool-size=1",
        "--expose-gc",
        `dist/controllers/${c.name}.js`,
      ]);
      assert.deepEqual(container.securityContext, {
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        readOnlyRootFilesystem: true,
      });
      assert.deepEqual(container.volumeMounts, [{ mountPath: "/tmp", name: "tmp" }]);
      assert.ok(pod.volumes.some((v: Obj) => v.name === "tmp" && v.emptyDir));
      assert.deepEqual(container.ports, [{ containerPort: 8080, name: "metrics", protocol: "TCP" }]);
      assert.deepEqual(container.livenessProbe.httpGet, { path: "/healthz", port: "metrics" });
      assert.deepEqual(container.readinessProbe.httpGet, { path: "/readyz", port: "metrics" });
      // Memory from the measured figures (docs/performance.md, "Memory limits").
      assert.deepEqual(container.resources, {
        limits: { cpu: "500m", memory: "512Mi" },
        requests: { cpu: "100m", memory: c.name === "backup" ? "160Mi" : "128Mi" },
      });
      const env = Object.fromEntries((container.env as Obj[]).map((e) => [e.name, e.value ?? e.valueFrom.fieldRef.fieldPath]));
      assert.deepEqual(env, {
        POD_NAME: "metadata.name",
        POD_NAMESPACE: "metadata.namespace",
        WATCH_NAMESPACES: "",
        LEADER_ELECTION: "true",
        LEADER_ELECTION_NAMESPACE: "metadata.namespace",
        LEADER_ELECTION_LEASE_SECONDS: "15",
        METRICS_PORT: "8080",
        LOG_LEVEL: "info",
        // Worker Jobs (execution.mode job) run the controller's own image.
        ...(c.name === "backup" || c.name === "restore" ? { WORKER_IMAGE: image } : {}),
      });
    }
  });

  test("one metrics Service selects every controller's pods by the metrics port", () => {
    const [service] = byKind(objects, "Service");
    assert.deepEqual(service?.spec.selector, { "app.kubernetes.io/part-of": "kafka-backup-operator" });
    assert.deepEqual(service?.spec.ports, [{ name: "metrics", port: 8080, protocol: "TCP", targetPort: "metrics" }]);
  });
});

describe("KafkaBackupOperator: a namespaced installation", async () => {
  const objects: Obj[] = await renderOperator({ image, namespace: "kbo", watchNamespaces: ["team-a", "kbo"] });

  test("grants only Roles in the listed namespaces, no ClusterRole", () => {
    assert.equal(byKind(objects, "ClusterRole").length, 0);
    assert.equal(byKind(objects, "ClusterRoleBinding").length, 0);
    for (const c of operatorControllers) {
      for (const ns of ["team-a", "kbo"]) {
        const role = named(objects, "Role", c.component, ns);
        assert.ok((role.rules as PolicyRule[]).some((r) => r.resources.includes("secrets")));
        const binding = named(objects, "RoleBinding", c.component, ns);
        assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: c.component, namespace: "kbo" }]);
      }
    }
    const namespaces = new Set(byKind(objects, "Role").map((r) => r.metadata.namespace));
    assert.deepEqual([...namespaces].sort(), ["kbo", "team-a"]);
  });

  test("the controllers watch the listed namespaces", () => {
    for (const d of byKind(objects, "Deployment")) {
      const env = d.spec.template.spec.containers[0].env as Obj[];
      assert.equal(env.find((e) => e.name === "WATCH_NAMESPACES")?.value, "team-a,kbo");
      assert.equal(d.metadata.namespace, "kbo");
    }
  });
});

describe("KafkaBackupOperator: options", () => {
  test("replicas, log level, port, lease, resources, extra env and labels reach every Deployment", async () => {
    const resources = { requests: { cpu: "1", memory: "1Gi" }, limits: { memory: "2Gi" } };
    const objects: Obj[] = await renderOperator({
      image,
      replicas: 2,
      logLevel: "debug",
      metricsPort: 9100,
      leaderElection: { leaseDurationSeconds: 30 },
      resources,
      env: { PVC_MOUNT_ROOT: "/data" },
      labels: { team: "data" },
      imagePullPolicy: "Always",
      imagePullSecrets: ["regcred"],
    });
    for (const d of byKind(objects, "Deployment")) {
      assert.equal(d.spec.replicas, 2);
      assert.equal(d.metadata.labels.team, "data");
      const pod = d.spec.template.spec;
      const [container] = pod.containers;
      const env = Object.fromEntries((container.env as Obj[]).map((e) => [e.name, e.value]));
      assert.equal(env.LOG_LEVEL, "debug");
      assert.equal(env.METRICS_PORT, "9100");
      assert.equal(env.LEADER_ELECTION_LEASE_SECONDS, "30");
      assert.equal(env.PVC_MOUNT_ROOT, "/data");
      assert.equal(container.ports[0].containerPort, 9100);
      assert.deepEqual(container.resources, resources);
      assert.equal(container.imagePullPolicy, "Always");
      assert.deepEqual(pod.imagePullSecrets, [{ name: "regcred" }]);
    }
    assert.equal(byKind(objects, "Service")[0]?.spec.ports[0].port, 9100);
  });

  test("pvcClaims are mounted in every controller and the console at $PVC_MOUNT_ROOT/<claim>", async () => {
    const objects: Obj[] = await renderOperator({
      image,
      pvcClaims: ["backups", "offset-files"],
      env: { PVC_MOUNT_ROOT: "/mnt/claims/" },
      console: { enabled: true },
    });
    const deployments = byKind(objects, "Deployment");
    assert.equal(deployments.length, operatorControllers.length + 1);
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      const claims = (pod.volumes as Obj[]).filter((v) => v.persistentVolumeClaim);
      assert.deepEqual(
        claims.map((v) => v.persistentVolumeClaim.claimName),
        ["backups", "offset-files"],
        d.metadata.name,
      );
      const mounts = Object.fromEntries((pod.containers[0].volumeMounts as Obj[]).map((m) => [m.name, m.mountPath]));
      for (const v of claims) assert.equal(mounts[v.name], `/mnt/claims/${v.persistentVolumeClaim.claimName}`);
    }
  });

  test("ServiceMonitor and PodDisruptionBudgets when asked; no CRDs or namespace when told so", async () => {
    const objects: Obj[] = await renderOperator({
      image,
      installCrds: false,
      createNamespace: false,
      serviceMonitor: { enabled: true, interval: "15s", labels: { release: "prom" } },
      podDisruptionBudget: { enabled: true },
      leaderElection: { enabled: false },
    });
    assert.equal(byKind(objects, "CustomResourceDefinition").length, 0);
    assert.equal(byKind(objects, "Namespace").length, 0);
    const [monitor] = byKind(objects, "ServiceMonitor");
    assert.equal(monitor?.apiVersion, "monitoring.coreos.com/v1");
    assert.equal(monitor?.metadata.labels.release, "prom");
    assert.deepEqual(monitor?.spec.endpoints, [{ interval: "15s", path: "/metrics", port: "metrics" }]);
    const service = byKind(objects, "Service")[0];
    for (const [k, v] of Object.entries(monitor?.spec.selector.matchLabels ?? {})) assert.equal(service?.metadata.labels[k], v);
    const pdbs = byKind(objects, "PodDisruptionBudget");
    assert.equal(pdbs.length, 5);
    for (const pdb of pdbs) assert.equal(pdb.spec.maxUnavailable, 1);
    for (const d of byKind(objects, "Deployment")) {
      const env = d.spec.template.spec.containers[0].env as Obj[];
      assert.equal(env.find((e) => e.name === "LEADER_ELECTION")?.value, "false");
    }
  });

  test("deploys the controllers it is given, with their extra rules (the hook for worker Jobs)", async () => {
    const jobs = { apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "list", "watch", "create", "delete"] };
    const backup = operatorControllers.find((c) => c.name === "backup");
    assert.ok(backup);
    const objects: Obj[] = await renderOperator({ image, controllers: [{ ...backup, extraRules: [jobs] }] });
    assert.equal(byKind(objects, "Deployment").length, 1);
    const role = named(objects, "ClusterRole", "kafka-backup-system:kafka-backup-controller");
    assert.deepEqual(role.rules.at(-1), jobs);
  });
});

describe("KafkaBackupOperator: CRDs are kept on destroy; skipAwait for API servers without nodes", () => {
  async function optionsOf(args: Partial<KafkaBackupOperatorArgs>) {
    const registered = recordResources();
    const seen: Array<{ type: string; retainOnDelete: boolean | undefined; annotations: Obj | undefined }> = [];
    new KafkaBackupOperator(
      "op",
      { image, ...args },
      {
        transformations: [
          (a) => {
            seen.push({
              type: a.type,
              retainOnDelete: a.opts.retainOnDelete,
              annotations: (a.props as Obj).metadata?.annotations,
            });
            return undefined;
          },
        ],
      },
    );
    await settled(registered);
    return seen;
  }

  test("by default the CRDs are retained and nothing carries Pulumi annotations", async () => {
    const seen = await optionsOf({});
    const crds = seen.filter((s) => s.type.includes("CustomResourceDefinition"));
    assert.equal(crds.length, 5);
    for (const crd of crds) assert.equal(crd.retainOnDelete, true);
    for (const s of seen.filter((s) => !s.type.includes("CustomResourceDefinition")))
      assert.notEqual(s.retainOnDelete, true, s.type);
    for (const s of seen) assert.equal(s.annotations, undefined, s.type);
  });

  test("keepCrds: false lets destroy delete them; skipAwait marks every object but the CRDs", async () => {
    const seen = await optionsOf({ keepCrds: false, skipAwait: true });
    for (const crd of seen.filter((s) => s.type.includes("CustomResourceDefinition"))) assert.notEqual(crd.retainOnDelete, true);
    const marked = seen.filter((s) => s.annotations?.["pulumi.com/skipAwait"] === "true").map((s) => s.type);
    assert.deepEqual(
      marked.sort(),
      seen
        .map((s) => s.type)
        .filter((t) => !t.includes("CustomResourceDefinition") && t !== typeToken)
        .sort(),
    );
  });
});

describe("KafkaBackupOperator: every child is parented to the component", () => {
  test("the component and each object under it", async () => {
    const registered = recordResources();
    const parents: Array<{ type: string; parent: string | undefined }> = [];
    const operator = new KafkaBackupOperator(
      "op",
      { image },
      {
        transformations: [
          (a) => {
            parents.push({
              type: a.type,
              parent: a.opts.parent ? (a.opts.parent as pulumi.Resource).constructor.name : undefined,
            });
            return undefined;
          },
        ],
      },
    );
    await settled(registered);
    assert.ok(operator instanceof pulumi.ComponentResource);
    assert.equal(registered.find((r) => r.type === typeToken)?.name, "op");
    const children = parents.filter((p) => p.type !== typeToken);
    assert.equal(children.length, registered.length - 1);
    for (const child of children) assert.equal(child.parent, "KafkaBackupOperator", child.type);
  });
});

describe("KafkaBackupOperator: argument errors name the argument", () => {
  const cases: Array<[string, Partial<KafkaBackupOperatorArgs>, RegExp]> = [
    ["no image", { image: "" }, /args\.image is required/],
    ["bad namespace", { namespace: "Kafka_Backups" }, /args\.namespace "Kafka_Backups"/],
    ["bad watched namespace", { watchNamespaces: ["ok", "NOT OK"] }, /args\.watchNamespaces entry "NOT OK"/],
    ["duplicate watched namespace", { watchNamespaces: ["a", "a"] }, /args\.watchNamespaces lists a namespace twice/],
    ["bad claim", { pvcClaims: ["Backups"] }, /args\.pvcClaims entry "Backups"/],
    ["duplicate claim", { pvcClaims: ["b", "b"] }, /args\.pvcClaims lists a claim twice/],
    ["no controllers", { controllers: [] }, /args\.controllers is empty/],
    ["zero replicas", { replicas: 0 }, /args\.replicas must be a whole number/],
    [
      "replicas without election",
      { replicas: 2, leaderElection: { enabled: false } },
      /args\.replicas > 1 needs leader election/,
    ],
    ["port", { metricsPort: 70000 }, /args\.metricsPort must be a port number/],
    ["log level", { logLevel: "loud" as "info" }, /args\.logLevel must be one of/],
    ["lease", { leaderElection: { leaseDurationSeconds: 1 } }, /args\.leaderElection\.leaseDurationSeconds/],
    ["pdb", { podDisruptionBudget: { enabled: true, maxUnavailable: -1 } }, /args\.podDisruptionBudget\.maxUnavailable/],
    ["env", { env: { "BAD-NAME": "x" } }, /args\.env key "BAD-NAME"/],
  ];
  for (const [what, args, message] of cases) {
    test(what, () => {
      recordResources();
      assert.throws(
        () => new KafkaBackupOperator("op", { image, ...args }),
        (err: Error) => message.test(err.message) && err.message.startsWith("KafkaBackupOperator op: "),
      );
    });
  }
});

describe("KafkaBackupOperator: the web console when asked (console.enabled)", async () => {
  const objects: Obj[] = await renderOperator({ image, console: { enabled: true } });
  const scoped: Obj[] = await renderOperator({
    image,
    namespace: "kbo",
    watchNamespaces: ["team-a"],
    console: { enabled: true, servicePort: 8081 },
  });
  const readOnly = [
    {
      apiGroups: [group],
      resources: ["kafkabackups", "kafkabackupvalidations", "kafkaoffsetresets", "kafkaoffsetrollbacks", "kafkarestores"],
      verbs: ["get", "list", "watch"],
    },
    { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
  ];

  test("off by default: deploy/ and the default installation have no console", async () => {
    const plain: Obj[] = await renderOperator({ image });
    assert.ok(!plain.some((o) => o.metadata?.name?.includes("kafka-backup-console")));
  });

  test("its own ServiceAccount, a read-only ClusterRole on the five kinds and Secrets by name, no Lease", () => {
    assert.equal(named(objects, "ServiceAccount", "kafka-backup-console", "kafka-backup-system").kind, "ServiceAccount");
    const role = named(objects, "ClusterRole", "kafka-backup-system:kafka-backup-console");
    assert.deepEqual(sortRules(role.rules), sortRules(readOnly));
    const binding = named(objects, "ClusterRoleBinding", "kafka-backup-system:kafka-backup-console");
    assert.deepEqual(binding.subjects, [
      { kind: "ServiceAccount", name: "kafka-backup-console", namespace: "kafka-backup-system" },
    ]);
    assert.ok(!byKind(objects, "Role").some((r) => r.metadata.name.includes("console")), "no Lease Role");
  });

  test("a Deployment of the console bundle with the controllers' pod security, and a ClusterIP Service", () => {
    const d = named(objects, "Deployment", "kafka-backup-console", "kafka-backup-system");
    const pod = d.spec.template.spec;
    assert.equal(pod.serviceAccountName, "kafka-backup-console");
    assert.equal(pod.securityContext.runAsNonRoot, true);
    const [container] = pod.containers;
    assert.deepEqual(container.command, [
      "node",
      "--max-semi-space-size=2",
      "--v8-pool-size=1",
      "--expose-gc",
      "dist/controllers/console.js",
    ]);
    assert.deepEqual(container.securityContext, {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      readOnlyRootFilesystem: true,
    });
    assert.deepEqual(container.ports, [{ containerPort: 8080, name: "http", protocol: "TCP" }]);
    assert.deepEqual(container.readinessProbe.httpGet, { path: "/readyz", port: "http" });
    const service = named(objects, "Service", "kafka-backup-console", "kafka-backup-system");
    assert.equal(service.spec.type, "ClusterIP");
    assert.deepEqual(service.spec.selector, d.spec.selector.matchLabels);
    assert.deepEqual(service.spec.ports, [{ name: "http", port: 80, protocol: "TCP", targetPort: "http" }]);
  });

  test("namespaced: a Role in each watched namespace, the namespaces in its environment", () => {
    assert.ok(!byKind(scoped, "ClusterRole").some((r) => r.metadata.name.includes("console")));
    assert.deepEqual(sortRules(named(scoped, "Role", "kafka-backup-console", "team-a").rules), sortRules(readOnly));
    const d = named(scoped, "Deployment", "kafka-backup-console", "kbo");
    const env = Object.fromEntries((d.spec.template.spec.containers[0].env as Obj[]).map((e) => [e.name, e.value]));
    assert.equal(env.WATCH_NAMESPACES, "team-a");
    assert.equal(named(scoped, "Service", "kafka-backup-console", "kbo").spec.ports[0].port, 8081);
  });

  test("argument errors name the argument", () => {
    assert.throws(
      () => new KafkaBackupOperator("op", { image, console: { enabled: true, servicePort: 0 } }),
      /args\.console\.servicePort must be a port number/,
    );
  });
});

describe("deploy/ is what the component renders (npm run render)", () => {
  test("the checked-in manifests match, file by file", async () => {
    const files = deployFiles(await renderOperator(deployArgs));
    const onDisk = readdirSync(deployDir).filter((f) => f.endsWith(".yaml"));
    assert.deepEqual(onDisk.sort(), Object.keys(files).sort(), "deploy/ holds exactly the rendered files");
    for (const [name, text] of Object.entries(files)) {
      assert.equal(readFileSync(join(deployDir, name), "utf8"), text, `deploy/${name} is stale: run npm run render`);
    }
  });
});
