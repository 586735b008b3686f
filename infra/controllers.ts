// The operator's controllers as data: which kind each one reconciles, the bundled file its
// Deployment runs, and the API access it needs beyond its own kind. The component deploys whatever
// list it is given; `operatorControllers` is the product's five.
import { group, resources } from "../crds/generated/types.ts";

/** One RBAC rule, as Kubernetes writes it. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

export type KindName = keyof typeof resources;

export interface ControllerSpec {
  /** Short name: the bundle is dist/controllers/<name>.js. */
  name: string;
  /** The custom resource kind it reconciles. */
  kind: KindName;
  /** The runtime's component name: names the Deployment, ServiceAccount, Events' source and Lease. */
  component: string;
  /** Access beyond its own kind, Events, Secrets and its Lease (in every namespace it watches). */
  reads: PolicyRule[];
  /**
   * More rules, for features that bring their own needs (e.g. worker Jobs, issue #13). Granted
   * like `reads`; kept apart so a feature's grant is one visible line.
   */
  extraRules?: PolicyRule[];
  /**
   * Its container's memory request and limit (default `defaultMemory`): the request from its idle
   * RSS with many resources, the limit from that plus the runs it makes in its own process.
   * docs/performance.md, "Memory limits".
   */
  memory?: { request: string; limit: string };
}

/** For a controller without measured figures of its own. */
export const defaultMemory = { request: "128Mi", limit: "512Mi" };

const readBackups: PolicyRule = {
  apiGroups: [group],
  resources: [resources.KafkaBackup.plural],
  verbs: ["get", "list", "watch"],
};

/** Offset snapshots are ConfigMaps the offset controllers write and read back. */
const offsetSnapshots: PolicyRule = {
  apiGroups: [""],
  resources: ["configmaps"],
  verbs: ["get", "list", "create", "update", "patch"],
};

/** A reset's from-mapping and a rollback's snapshot reference name other resources, read by name. */
const readReferences = (...kinds: KindName[]): PolicyRule => ({
  apiGroups: [group],
  resources: kinds.map((k) => resources[k].plural),
  verbs: ["get"],
});

/**
 * execution.mode job (issue #13): the controller creates a run's Indexed Job, reads it by name and
 * deletes it to stop a failed, expired or cancelled run. No list or watch (it polls its own Jobs by
 * name), no pods (the workers report to storage), no update (a Job is never changed).
 */
export const workerJobs: PolicyRule = { apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "create", "delete"] };

/** Whether a controller runs worker Jobs: its Deployment then gets WORKER_IMAGE (the same image). */
export const runsWorkerJobs = (c: ControllerSpec) => (c.extraRules ?? []).includes(workerJobs);

export const operatorControllers: readonly ControllerSpec[] = [
  // Idles at ~108 MiB with 1,000 scheduled KafkaBackups and ~127 MiB with 5,000 (~157 while settling
  // them); a backup runs in its process (+~110–140 MiB at the default budget). docs/performance.md.
  {
    name: "backup",
    kind: "KafkaBackup",
    component: "kafka-backup-controller",
    reads: [],
    extraRules: [workerJobs],
    memory: { request: "160Mi", limit: "512Mi" },
  },
  // A restore names its backup by reference, in any namespace it watches; with rollback it
  // snapshots the groups' offsets into a ConfigMap it owns.
  {
    name: "restore",
    kind: "KafkaRestore",
    component: "kafka-restore-controller",
    reads: [readBackups, offsetSnapshots],
    extraRules: [workerJobs],
  },
  // from-mapping reads a KafkaRestore's mapping report, in that restore's (backup's) storage.
  {
    name: "offset-reset",
    kind: "KafkaOffsetReset",
    component: "kafka-offset-reset-controller",
    reads: [offsetSnapshots, readReferences("KafkaRestore", "KafkaBackup")],
  },
  // A rollback finds its snapshot through the KafkaOffsetReset or KafkaRestore that took it.
  {
    name: "offset-rollback",
    kind: "KafkaOffsetRollback",
    component: "kafka-offset-rollback-controller",
    reads: [offsetSnapshots, readReferences("KafkaOffsetReset", "KafkaRestore", "KafkaBackup")],
  },
  {
    name: "validation",
    kind: "KafkaBackupValidation",
    component: "kafka-backup-validation-controller",
    reads: [readBackups],
  },
];

/**
 * V8 flags of every container: young-generation semi-spaces of 2 MiB instead of V8's 16–32 MiB
 * (a backup's peak RSS down by a quarter, at no CPU cost we could measure); one V8 helper thread
 * instead of four (each keeps a malloc arena: −6 to −10 MiB idle, no CPU cost measured, a run's
 * peak +20 MiB); and `gc()` for the runtime's collection when its work queue empties
 * (engine/k8s/idle-gc.ts). docs/performance.md.
 */
export const nodeFlags = ["--max-semi-space-size=2", "--v8-pool-size=1", "--expose-gc"];

/** The bundle a controller's container runs (`npm run build` writes it). */
export const entryFile = (c: ControllerSpec) => `dist/controllers/${c.name}.js`;

/** The runtime names its leader Lease `<component>-leader` (engine/k8s/controller.ts). */
export const leaseName = (c: ControllerSpec) => `${c.component}-leader`;

/**
 * What a controller may do in each namespace it watches: its own kind (read, patch for
 * finalizers), its status and finalizers subresources, Events, reading Secrets by name (never
 * listing them), and its `reads` and `extraRules`.
 */
export function watchRules(c: ControllerSpec): PolicyRule[] {
  const plural = resources[c.kind].plural;
  return [
    { apiGroups: [group], resources: [plural], verbs: ["get", "list", "watch", "patch", "update"] },
    { apiGroups: [group], resources: [`${plural}/status`], verbs: ["get", "patch", "update"] },
    { apiGroups: [group], resources: [`${plural}/finalizers`], verbs: ["update"] },
    { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
    { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
    ...c.reads,
    ...(c.extraRules ?? []),
  ];
}

/**
 * Leader election, in the operator's namespace only: create a Lease (create cannot be limited by
 * name) and read and renew its own Lease by name.
 */
export function leaseRules(c: ControllerSpec): PolicyRule[] {
  return [
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
    {
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      resourceNames: [leaseName(c)],
      verbs: ["get", "update", "patch"],
    },
  ];
}

/**
 * The web console (controllers/console.ts): not a controller, a sixth program from the same image.
 * It reads the five kinds (to list the KafkaBackups, restores and validations) and the
 * Secrets their storage and clusters name, by name; it writes nothing and holds no Lease.
 */
export const consoleComponent = "kafka-backup-console";
export const consoleEntryFile = "dist/controllers/console.js";

export function consoleRules(): PolicyRule[] {
  return [
    {
      apiGroups: [group],
      resources: Object.values(resources)
        .map((r) => r.plural)
        .sort(),
      verbs: ["get", "list", "watch"],
    },
    { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
  ];
}
