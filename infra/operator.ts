// KafkaBackupOperator: everything the operator needs in a cluster. The CRDs, its namespace, and
// per controller a ServiceAccount, least-privilege RBAC and a Deployment running that controller's
// bundle from the one image; a metrics Service, and optionally a ServiceMonitor and
// PodDisruptionBudgets. Cluster-wide by default; with `watchNamespaces` every grant is a Role in
// those namespaces only.
import { readFileSync } from "node:fs";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { parseAllDocuments } from "yaml";
import {
  type ControllerSpec,
  consoleComponent,
  consoleEntryFile,
  consoleRules,
  defaultMemory,
  entryFile,
  leaseRules,
  nodeFlags,
  operatorControllers,
  type PolicyRule,
  runsWorkerJobs,
  watchRules,
} from "./controllers.ts";

export const typeToken = "kafka-backup-operator:index:KafkaBackupOperator";

/** The Grafana dashboard shipped with the component; every query uses a metric the controllers export. */
export const dashboardPath = new URL("./dashboards/kafka-backup-operator.json", import.meta.url).pathname;

const partOf = "kafka-backup-operator";
const logLevels = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
export type LogLevel = (typeof logLevels)[number];

export interface KafkaBackupOperatorArgs {
  /** The controller image (see Dockerfile), e.g. registry.example.com/kafka-backup-operator:0.1.0. */
  image: pulumi.Input<string>;
  imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  imagePullSecrets?: string[];
  /** Where the controllers run. Default kafka-backup-system. */
  namespace?: string;
  /** Create the namespace (default true); false when it exists already. */
  createNamespace?: boolean;
  /** Install the five CRDs (default true); false when another installation owns them. */
  installCrds?: boolean;
  /** Namespaces the controllers watch; empty or absent means all (cluster-wide RBAC). */
  watchNamespaces?: string[];
  /** The controllers to deploy (default: all five, `operatorControllers`). */
  controllers?: readonly ControllerSpec[];
  /** Replicas per controller (default 1); more are standbys behind leader election. */
  replicas?: number;
  /**
   * Every container the same. Default: requests 100m CPU, limits 500m CPU, memory as each
   * controller's `memory` says (infra/controllers.ts; docs/performance.md, "Memory limits").
   */
  resources?: k8s.types.input.core.v1.ResourceRequirements;
  logLevel?: LogLevel;
  /** Port of /metrics, /healthz and /readyz (default 8080). */
  metricsPort?: number;
  /** Leader election on a Lease (default on); the lease duration in seconds (default 15). */
  leaderElection?: { enabled?: boolean; leaseDurationSeconds?: number };
  /** A Prometheus-operator ServiceMonitor for the metrics Service (its CRD must exist). */
  serviceMonitor?: { enabled: boolean; interval?: string; labels?: Record<string, string> };
  /** One PodDisruptionBudget per controller (default maxUnavailable 1). */
  podDisruptionBudget?: { enabled: boolean; maxUnavailable?: number };
  /**
   * The Grafana dashboard (infra/dashboards/kafka-backup-operator.json) as a ConfigMap labelled for
   * Grafana's dashboard sidecar (`grafana_dashboard: "1"` unless `labels` says otherwise), in
   * `namespace` (default the operator's).
   */
  grafanaDashboard?: { enabled: boolean; namespace?: string; labels?: Record<string, string> };
  /**
   * The read-only web console (docs/console.md): its own Deployment, ServiceAccount (reading the
   * five kinds and Secrets by name, nothing else) and a ClusterIP Service. It has no login: reach
   * it with `kubectl port-forward` or put an authenticating proxy in front. Default off.
   */
  console?: {
    enabled: boolean;
    /** The Service's port (default 80); the container listens on 8080. */
    servicePort?: number;
    replicas?: number;
    /** Default requests 50m / 96Mi, limits 500m / 512Mi. */
    resources?: k8s.types.input.core.v1.ResourceRequirements;
  };
  /**
   * PersistentVolumeClaims of the operator's namespace mounted in every controller and the console
   * at `$PVC_MOUNT_ROOT/<claim>` (default `/data/<claim>`, as the existing operator expects), for
   * `storageType: pvc` storage and files named with `pvcName`. A claim that several pods mount
   * (controllers, replicas) must allow it: ReadWriteMany, or ReadWriteOnce on a single node.
   */
  pvcClaims?: string[];
  /** Extra environment for every controller (e.g. PVC_MOUNT_ROOT). */
  env?: Record<string, string>;
  /** Labels added to every object. */
  labels?: Record<string, string>;
  /**
   * Keep the CRDs on `pulumi destroy` (default true): deleting a CRD deletes every object of its
   * kind in the cluster, every user's KafkaBackup with it.
   */
  keepCrds?: boolean;
  /**
   * Don't wait for the Deployments to roll out, the Service's endpoints or the namespace to be gone,
   * and delete in the background, not waiting on the garbage collector (for API servers with no
   * nodes and no controller manager, as in the local stack's tests).
   */
  skipAwait?: boolean;
}

/** Every pod of the operator: non-root, the runtime's default seccomp profile. */
const podSecurityContext = {
  runAsNonRoot: true,
  runAsUser: 1000,
  runAsGroup: 1000,
  fsGroup: 1000,
  seccompProfile: { type: "RuntimeDefault" },
};

/** Every container of the operator: a read-only root filesystem, no capabilities. */
const containerSecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

/** A controller's container: its own memory figures (infra/controllers.ts), the same CPU for all. */
const defaultResources = (c: ControllerSpec) => {
  const memory = c.memory ?? defaultMemory;
  return {
    requests: { cpu: "100m", memory: memory.request },
    limits: { cpu: "500m", memory: memory.limit },
  };
};

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** The volumes and mounts of args.pvcClaims: claim c at $PVC_MOUNT_ROOT/c. */
function claimMounts(args: KafkaBackupOperatorArgs) {
  const root = (args.env?.PVC_MOUNT_ROOT ?? "/data").replace(/\/+$/, "");
  const claims = args.pvcClaims ?? [];
  return {
    volumes: claims.map((claimName, i) => ({ name: `pvc-${i}`, persistentVolumeClaim: { claimName } })),
    mounts: claims.map((claimName, i) => ({ name: `pvc-${i}`, mountPath: `${root}/${claimName}` })),
  };
}

/** The CRD documents `npm run crds` generated. */
export function crdDocuments(): Record<string, unknown>[] {
  const text = readFileSync(new URL("../crds/generated/crds.yaml", import.meta.url), "utf8");
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Record<string, unknown> | null)
    .filter((d): d is Record<string, unknown> => d !== null);
}

/** Throws, naming the argument, when the args cannot make a working installation. */
export function validateArgs(name: string, args: KafkaBackupOperatorArgs): void {
  const fail = (message: string): never => {
    throw new Error(`KafkaBackupOperator ${name}: ${message}`);
  };
  if (args === undefined || args === null) fail("args are required (at least args.image)");
  if (args.image === undefined || args.image === null || (typeof args.image === "string" && args.image.trim() === "")) {
    fail("args.image is required: the controller image, e.g. registry.example.com/kafka-backup-operator:0.1.0");
  }
  if (args.namespace !== undefined && (!dnsLabel.test(args.namespace) || args.namespace.length > 63)) {
    fail(`args.namespace "${args.namespace}" is not a valid namespace name (lower-case DNS label)`);
  }
  for (const ns of args.watchNamespaces ?? []) {
    if (!dnsLabel.test(ns) || ns.length > 63) fail(`args.watchNamespaces entry "${ns}" is not a valid namespace name`);
  }
  if (new Set(args.watchNamespaces ?? []).size !== (args.watchNamespaces ?? []).length) {
    fail("args.watchNamespaces lists a namespace twice");
  }
  const controllers = args.controllers ?? operatorControllers;
  if (controllers.length === 0) fail("args.controllers is empty: deploy at least one controller");
  const seen = new Set<string>();
  for (const c of controllers) {
    if (!dnsLabel.test(c.name)) fail(`args.controllers entry "${c.name}" is not a valid name`);
    if (seen.has(c.name) || seen.has(c.component)) fail(`args.controllers lists "${c.name}" twice`);
    seen.add(c.name);
    seen.add(c.component);
  }
  for (const claim of args.pvcClaims ?? []) {
    if (!dnsSubdomain.test(claim) || claim.length > 253) fail(`args.pvcClaims entry "${claim}" is not a valid claim name`);
  }
  if (new Set(args.pvcClaims ?? []).size !== (args.pvcClaims ?? []).length) fail("args.pvcClaims lists a claim twice");
  if (args.replicas !== undefined && (!Number.isInteger(args.replicas) || args.replicas < 1)) {
    fail(`args.replicas must be a whole number of at least 1, not ${args.replicas}`);
  }
  if ((args.replicas ?? 1) > 1 && args.leaderElection?.enabled === false) {
    fail("args.replicas > 1 needs leader election: remove args.leaderElection.enabled = false");
  }
  if (
    args.metricsPort !== undefined &&
    (!Number.isInteger(args.metricsPort) || args.metricsPort < 1 || args.metricsPort > 65535)
  ) {
    fail(`args.metricsPort must be a port number (1-65535), not ${args.metricsPort}`);
  }
  if (args.logLevel !== undefined && !logLevels.includes(args.logLevel)) {
    fail(`args.logLevel must be one of ${logLevels.join(", ")}, not "${args.logLevel}"`);
  }
  const lease = args.leaderElection?.leaseDurationSeconds;
  if (lease !== undefined && (!Number.isInteger(lease) || lease < 2)) {
    fail(`args.leaderElection.leaseDurationSeconds must be a whole number of at least 2, not ${lease}`);
  }
  const maxUnavailable = args.podDisruptionBudget?.maxUnavailable;
  if (maxUnavailable !== undefined && (!Number.isInteger(maxUnavailable) || maxUnavailable < 0)) {
    fail(`args.podDisruptionBudget.maxUnavailable must be a whole number, not ${maxUnavailable}`);
  }
  const consolePort = args.console?.servicePort;
  if (consolePort !== undefined && (!Number.isInteger(consolePort) || consolePort < 1 || consolePort > 65535)) {
    fail(`args.console.servicePort must be a port number (1-65535), not ${consolePort}`);
  }
  const consoleReplicas = args.console?.replicas;
  if (consoleReplicas !== undefined && (!Number.isInteger(consoleReplicas) || consoleReplicas < 1)) {
    fail(`args.console.replicas must be a whole number of at least 1, not ${consoleReplicas}`);
  }
  for (const key of Object.keys(args.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) fail(`args.env key "${key}" is not an environment variable name`);
  }
}

export class KafkaBackupOperator extends pulumi.ComponentResource {
  /** The namespace the controllers run in. */
  public readonly namespace: pulumi.Output<string>;
  /** ServiceAccount name per controller name. */
  public readonly serviceAccounts: pulumi.Output<Record<string, string>>;
  /** Deployment name per controller name. */
  public readonly deployments: pulumi.Output<Record<string, string>>;
  /** The metrics Service's name. */
  public readonly metricsService: pulumi.Output<string>;
  /** The names of the CRDs installed (empty when installCrds is false). */
  public readonly crds: pulumi.Output<string[]>;
  /** The console's ClusterIP Service name, when args.console.enabled. */
  public readonly consoleService: pulumi.Output<string | undefined>;

  constructor(name: string, args: KafkaBackupOperatorArgs, opts?: pulumi.ComponentResourceOptions) {
    validateArgs(name, args);
    super(typeToken, name, {}, opts);
    const parent = { parent: this };
    const controllers = args.controllers ?? operatorControllers;
    const namespaceName = args.namespace ?? "kafka-backup-system";
    const watched = args.watchNamespaces ?? [];
    const port = args.metricsPort ?? 8080;
    const common = { "app.kubernetes.io/part-of": partOf, ...(args.labels ?? {}) };
    const noWait = args.skipAwait
      ? { "pulumi.com/skipAwait": "true", "pulumi.com/deletionPropagationPolicy": "background" }
      : undefined;

    const crds =
      args.installCrds === false
        ? []
        : crdDocuments().map((doc) => {
            const meta = doc.metadata as { name: string };
            return new k8s.apiextensions.v1.CustomResourceDefinition(
              `${name}-${meta.name}`,
              doc as unknown as k8s.apiextensions.v1.CustomResourceDefinitionArgs,
              { parent: this, retainOnDelete: args.keepCrds !== false },
            );
          });

    // Everything namespaced waits for the namespace (through its name output) when we create it.
    const namespace =
      args.createNamespace === false
        ? pulumi.output(namespaceName)
        : new k8s.core.v1.Namespace(
            `${name}-namespace`,
            { metadata: { name: namespaceName, labels: common, annotations: noWait } },
            parent,
          ).metadata.name;

    const serviceAccounts: Record<string, pulumi.Output<string>> = {};
    const deployments: Record<string, pulumi.Output<string>> = {};
    for (const c of controllers) {
      const labels = { ...common, "app.kubernetes.io/name": partOf, "app.kubernetes.io/component": c.component };
      const selector = { "app.kubernetes.io/part-of": partOf, "app.kubernetes.io/component": c.component };
      const sa = new k8s.core.v1.ServiceAccount(
        `${name}-${c.component}`,
        { metadata: { name: c.component, namespace, labels, annotations: noWait } },
        parent,
      );
      serviceAccounts[c.name] = sa.metadata.name;
      const subject = { kind: "ServiceAccount", name: c.component, namespace: namespaceName };

      this.grant(name, c, watched, namespaceName, namespace, labels, noWait, subject, sa);

      const env: k8s.types.input.core.v1.EnvVar[] = [
        { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
        { name: "WATCH_NAMESPACES", value: watched.join(",") },
        { name: "LEADER_ELECTION", value: args.leaderElection?.enabled === false ? "false" : "true" },
        { name: "LEADER_ELECTION_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
        { name: "LEADER_ELECTION_LEASE_SECONDS", value: String(args.leaderElection?.leaseDurationSeconds ?? 15) },
        { name: "METRICS_PORT", value: String(port) },
        { name: "LOG_LEVEL", value: args.logLevel ?? "info" },
        // The worker pods of execution.mode job run this same image (its bundled CLI).
        ...(runsWorkerJobs(c) ? [{ name: "WORKER_IMAGE", value: args.image }] : []),
        ...Object.entries(args.env ?? {}).map(([k, v]) => ({ name: k, value: v })),
      ];
      const deployment = new k8s.apps.v1.Deployment(
        `${name}-${c.component}`,
        {
          metadata: { name: c.component, namespace, labels, annotations: noWait },
          spec: {
            replicas: args.replicas ?? 1,
            selector: { matchLabels: selector },
            // A new leader takes over from the old one's Lease: never two at once by design, so
            // a rolling update needs no surge.
            strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
            template: {
              metadata: { labels },
              spec: {
                serviceAccountName: c.component,
                terminationGracePeriodSeconds: 30,
                imagePullSecrets: args.imagePullSecrets?.map((s) => ({ name: s })),
                securityContext: podSecurityContext,
                containers: [
                  {
                    name: "controller",
                    image: args.image,
                    imagePullPolicy: args.imagePullPolicy ?? "IfNotPresent",
                    command: ["node", ...nodeFlags, entryFile(c)],
                    env,
                    ports: [{ name: "metrics", containerPort: port, protocol: "TCP" }],
                    livenessProbe: {
                      httpGet: { path: "/healthz", port: "metrics" },
                      initialDelaySeconds: 10,
                      periodSeconds: 20,
                      failureThreshold: 3,
                    },
                    readinessProbe: {
                      httpGet: { path: "/readyz", port: "metrics" },
                      initialDelaySeconds: 5,
                      periodSeconds: 10,
                    },
                    resources: args.resources ?? defaultResources(c),
                    securityContext: containerSecurityContext,
                    // TLS material and spill files go to /tmp: the root filesystem is read-only.
                    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }, ...claimMounts(args).mounts],
                  },
                ],
                volumes: [{ name: "tmp", emptyDir: { sizeLimit: "1Gi" } }, ...claimMounts(args).volumes],
              },
            },
          },
        },
        parent,
      );
      deployments[c.name] = deployment.metadata.name;

      if (args.podDisruptionBudget?.enabled) {
        new k8s.policy.v1.PodDisruptionBudget(
          `${name}-${c.component}`,
          {
            metadata: { name: c.component, namespace, labels, annotations: noWait },
            spec: { maxUnavailable: args.podDisruptionBudget.maxUnavailable ?? 1, selector: { matchLabels: selector } },
          },
          parent,
        );
      }
    }

    const consoleService = args.console?.enabled
      ? this.console(name, args, watched, namespaceName, namespace, common, noWait)
      : pulumi.output(undefined);

    const serviceLabels = { ...common, "app.kubernetes.io/name": partOf, "app.kubernetes.io/component": "metrics" };
    const service = new k8s.core.v1.Service(
      `${name}-metrics`,
      {
        metadata: { name: `${partOf}-metrics`, namespace, labels: serviceLabels, annotations: noWait },
        spec: {
          type: "ClusterIP",
          selector: { "app.kubernetes.io/part-of": partOf },
          ports: [{ name: "metrics", port, targetPort: "metrics", protocol: "TCP" }],
        },
      },
      parent,
    );

    if (args.grafanaDashboard?.enabled) {
      new k8s.core.v1.ConfigMap(
        `${name}-dashboard`,
        {
          metadata: {
            name: `${partOf}-dashboard`,
            namespace: args.grafanaDashboard.namespace ?? namespace,
            labels: { ...common, ...(args.grafanaDashboard.labels ?? { grafana_dashboard: "1" }) },
          },
          data: { "kafka-backup-operator.json": readFileSync(dashboardPath, "utf8") },
        },
        parent,
      );
    }

    if (args.serviceMonitor?.enabled) {
      new k8s.apiextensions.CustomResource(
        `${name}-metrics`,
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "ServiceMonitor",
          metadata: {
            name: partOf,
            namespace,
            labels: { ...serviceLabels, ...(args.serviceMonitor.labels ?? {}) },
            annotations: noWait,
          },
          spec: {
            selector: { matchLabels: { "app.kubernetes.io/part-of": partOf, "app.kubernetes.io/component": "metrics" } },
            endpoints: [{ port: "metrics", path: "/metrics", interval: args.serviceMonitor.interval ?? "30s" }],
          },
        },
        parent,
      );
    }

    this.namespace = namespace;
    this.serviceAccounts = pulumi.output(serviceAccounts);
    this.deployments = pulumi.output(deployments);
    this.metricsService = service.metadata.name;
    this.crds = pulumi.output(crds.map((c) => c.metadata.name));
    this.consoleService = consoleService;
    this.registerOutputs({
      consoleService: this.consoleService,
      namespace: this.namespace,
      serviceAccounts: this.serviceAccounts,
      deployments: this.deployments,
      metricsService: this.metricsService,
      crds: this.crds,
    });
  }

  /**
   * The web console: ServiceAccount, read-only RBAC (cluster-wide, or a Role per watched
   * namespace), a Deployment of controllers/console.ts's bundle with the controllers' pod security,
   * and a ClusterIP Service. No Lease (it decides nothing), no Events, no writes.
   */
  private console(
    name: string,
    args: KafkaBackupOperatorArgs,
    watched: string[],
    namespaceName: string,
    namespace: pulumi.Output<string>,
    common: Record<string, string>,
    annotations: Record<string, string> | undefined,
  ): pulumi.Output<string> {
    const parent = { parent: this };
    const labels = { ...common, "app.kubernetes.io/name": partOf, "app.kubernetes.io/component": consoleComponent };
    const selector = { "app.kubernetes.io/part-of": partOf, "app.kubernetes.io/component": consoleComponent };
    const sa = new k8s.core.v1.ServiceAccount(
      `${name}-${consoleComponent}`,
      { metadata: { name: consoleComponent, namespace, labels, annotations } },
      parent,
    );
    const subject = { kind: "ServiceAccount", name: consoleComponent, namespace: namespaceName };
    const opts = { parent: this, dependsOn: [sa] };
    const rules = consoleRules();
    if (watched.length === 0) {
      const roleName = `${namespaceName}:${consoleComponent}`;
      new k8s.rbac.v1.ClusterRole(
        `${name}-${consoleComponent}`,
        { metadata: { name: roleName, labels, annotations }, rules },
        opts,
      );
      new k8s.rbac.v1.ClusterRoleBinding(
        `${name}-${consoleComponent}`,
        {
          metadata: { name: roleName, labels, annotations },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: roleName },
          subjects: [subject],
        },
        opts,
      );
    } else {
      for (const ns of watched) {
        const inNamespace = ns === namespaceName ? namespace : ns;
        new k8s.rbac.v1.Role(
          `${name}-${consoleComponent}-${ns}`,
          { metadata: { name: consoleComponent, namespace: inNamespace, labels, annotations }, rules },
          opts,
        );
        new k8s.rbac.v1.RoleBinding(
          `${name}-${consoleComponent}-${ns}`,
          {
            metadata: { name: consoleComponent, namespace: inNamespace, labels, annotations },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: consoleComponent },
            subjects: [subject],
          },
          opts,
        );
      }
    }
    const containerPort = 8080;
    new k8s.apps.v1.Deployment(
      `${name}-${consoleComponent}`,
      {
        metadata: { name: consoleComponent, namespace, labels, annotations },
        spec: {
          replicas: args.console?.replicas ?? 1,
          selector: { matchLabels: selector },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: consoleComponent,
              terminationGracePeriodSeconds: 10,
              imagePullSecrets: args.imagePullSecrets?.map((s) => ({ name: s })),
              securityContext: podSecurityContext,
              containers: [
                {
                  name: "console",
                  image: args.image,
                  imagePullPolicy: args.imagePullPolicy ?? "IfNotPresent",
                  command: ["node", ...nodeFlags, consoleEntryFile],
                  env: [
                    { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                    { name: "WATCH_NAMESPACES", value: watched.join(",") },
                    { name: "CONSOLE_PORT", value: String(containerPort) },
                    { name: "LOG_LEVEL", value: args.logLevel ?? "info" },
                    ...Object.entries(args.env ?? {}).map(([k, v]) => ({ name: k, value: v })),
                  ],
                  // Named http, not metrics: the metrics Service (which selects by part-of) finds no port here.
                  ports: [{ name: "http", containerPort, protocol: "TCP" }],
                  livenessProbe: { httpGet: { path: "/healthz", port: "http" }, initialDelaySeconds: 10, periodSeconds: 20 },
                  readinessProbe: { httpGet: { path: "/readyz", port: "http" }, initialDelaySeconds: 3, periodSeconds: 10 },
                  resources: args.console?.resources ?? {
                    requests: { cpu: "50m", memory: "96Mi" },
                    limits: { cpu: "500m", memory: "512Mi" },
                  },
                  securityContext: containerSecurityContext,
                  volumeMounts: [{ name: "tmp", mountPath: "/tmp" }, ...claimMounts(args).mounts],
                },
              ],
              volumes: [{ name: "tmp", emptyDir: { sizeLimit: "256Mi" } }, ...claimMounts(args).volumes],
            },
          },
        },
      },
      parent,
    );
    const service = new k8s.core.v1.Service(
      `${name}-${consoleComponent}`,
      {
        metadata: { name: consoleComponent, namespace, labels, annotations },
        spec: {
          type: "ClusterIP",
          selector,
          ports: [{ name: "http", port: args.console?.servicePort ?? 80, targetPort: "http", protocol: "TCP" }],
        },
      },
      parent,
    );
    return service.metadata.name;
  }

  /**
   * The controller's RBAC: its watch rules cluster-wide (ClusterRole + ClusterRoleBinding) or in
   * each watched namespace (Role + RoleBinding), and its Lease rules in the operator's namespace.
   */
  private grant(
    name: string,
    c: ControllerSpec,
    watched: string[],
    namespaceName: string,
    namespace: pulumi.Output<string>,
    labels: Record<string, string>,
    annotations: Record<string, string> | undefined,
    subject: { kind: string; name: string; namespace: string },
    sa: k8s.core.v1.ServiceAccount,
  ): void {
    const opts = { parent: this, dependsOn: [sa] };
    const rules: PolicyRule[] = watchRules(c);
    if (watched.length === 0) {
      const roleName = `${namespaceName}:${c.component}`;
      new k8s.rbac.v1.ClusterRole(`${name}-${c.component}`, { metadata: { name: roleName, labels, annotations }, rules }, opts);
      new k8s.rbac.v1.ClusterRoleBinding(
        `${name}-${c.component}`,
        {
          metadata: { name: roleName, labels, annotations },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: roleName },
          subjects: [subject],
        },
        opts,
      );
    } else {
      for (const ns of watched) {
        // The operator's own namespace may be watched too: then wait for it to exist.
        const inNamespace = ns === namespaceName ? namespace : ns;
        new k8s.rbac.v1.Role(
          `${name}-${c.component}-${ns}`,
          { metadata: { name: c.component, namespace: inNamespace, labels, annotations }, rules },
          opts,
        );
        new k8s.rbac.v1.RoleBinding(
          `${name}-${c.component}-${ns}`,
          {
            metadata: { name: c.component, namespace: inNamespace, labels, annotations },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: c.component },
            subjects: [subject],
          },
          opts,
        );
      }
    }
    const leaseRole = `${c.component}-leader-election`;
    new k8s.rbac.v1.Role(
      `${name}-${leaseRole}`,
      { metadata: { name: leaseRole, namespace, labels, annotations }, rules: leaseRules(c) },
      opts,
    );
    new k8s.rbac.v1.RoleBinding(
      `${name}-${leaseRole}`,
      {
        metadata: { name: leaseRole, namespace, labels, annotations },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: leaseRole },
        subjects: [subject],
      },
      opts,
    );
  }
}
