// The per-controller RBAC matrix, answered by the stack's kube-apiserver (RBAC authorization):
// the ServiceAccounts, ClusterRoles, Roles and bindings of deploy/ (what `npm run render` writes,
// put in a namespace of this test's) are applied, and `kubectl auth can-i --as=<ServiceAccount>`
// is asked, per controller, everything it must be able to do and a list of things it must not:
// other kinds' writes, listing or writing Secrets, deleting what it does not delete, pods and
// exec, nodes, RBAC, CRDs, other controllers' Leases, impersonation. Then the same for a
// namespaced installation (the component rendered with watchNamespaces): nothing outside the
// watched namespace. The expectations are a table here that states infra/controllers.ts's intent,
// not read from it.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseAllDocuments } from "yaml";
import { deployArgs, deployDir, renderOperator } from "../../infra/render.ts";
import { applyCrds, deleteNamespace, kubectl, kubectlTry } from "../support/kube.ts";
import { type Access, applyRbac, canIAll, describeAccess, servedResources } from "../support/rbac.ts";

const crd = (plural: string) => `${plural}.kafka.oso.sh`;
const kinds = ["kafkabackups", "kafkarestores", "kafkaoffsetresets", "kafkaoffsetrollbacks", "kafkabackupvalidations"];
const readVerbs = ["get", "list", "watch"];
const writeVerbs = ["create", "update", "patch", "delete", "deletecollection"];

interface Expected {
  serviceAccount: string;
  own: string;
  /** Other kinds it reads, and how. */
  reads: Record<string, string[]>;
  /** Offset snapshots and result ConfigMaps: read, created and updated, never deleted. */
  configMaps: boolean;
  /** execution.mode job: its runs' worker Jobs are created, read and deleted, never listed or changed. */
  workerJobs?: boolean;
}

/** What each controller needs (infra/controllers.ts's intent). */
const table: Expected[] = [
  { serviceAccount: "kafka-backup-controller", own: "kafkabackups", reads: {}, configMaps: false, workerJobs: true },
  // A restore names its backup; with rollback it snapshots offsets into a ConfigMap.
  {
    serviceAccount: "kafka-restore-controller",
    own: "kafkarestores",
    reads: { kafkabackups: readVerbs },
    configMaps: true,
    workerJobs: true,
  },
  // from-mapping reads a KafkaRestore and its KafkaBackup by name.
  {
    serviceAccount: "kafka-offset-reset-controller",
    own: "kafkaoffsetresets",
    reads: { kafkarestores: ["get"], kafkabackups: ["get"] },
    configMaps: true,
  },
  // A rollback finds its snapshot through the reset or restore that took it.
  {
    serviceAccount: "kafka-offset-rollback-controller",
    own: "kafkaoffsetrollbacks",
    reads: { kafkaoffsetresets: ["get"], kafkarestores: ["get"], kafkabackups: ["get"] },
    configMaps: true,
  },
  {
    serviceAccount: "kafka-backup-validation-controller",
    own: "kafkabackupvalidations",
    reads: { kafkabackups: readVerbs },
    configMaps: false,
  },
];

const leases = "leases.coordination.k8s.io";
const leaseOf = (e: Expected) => `${e.serviceAccount}-leader`;

/** What the controller must be able to do in a namespace it watches. */
function needed(e: Expected, ns: string): Access[] {
  const at = (verb: string, resource: string, more: Partial<Access> = {}): Access => ({ verb, resource, namespace: ns, ...more });
  return [
    ...["get", "list", "watch", "patch", "update"].map((v) => at(v, crd(e.own))),
    ...["get", "patch", "update"].map((v) => at(v, crd(e.own), { subresource: "status" })),
    at("update", crd(e.own), { subresource: "finalizers" }),
    at("create", "events"),
    at("patch", "events"),
    at("get", "secrets"),
    ...Object.entries(e.reads).flatMap(([plural, verbs]) => verbs.map((v) => at(v, crd(plural)))),
    ...(e.configMaps ? ["get", "list", "create", "update", "patch"].map((v) => at(v, "configmaps")) : []),
    ...(e.workerJobs ? ["get", "create", "delete"].map((v) => at(v, "jobs.batch")) : []),
  ];
}

/** Leader election: create a Lease and renew its own, in the operator's namespace. */
function leaderElection(e: Expected, operatorNs: string): Access[] {
  return [
    { verb: "create", resource: leases, namespace: operatorNs },
    ...["get", "update", "patch"].map((verb) => ({ verb, resource: leases, name: leaseOf(e), namespace: operatorNs })),
  ];
}

/** What the controller must not be able to do, wherever it is installed. */
function forbidden(e: Expected, ns: string, operatorNs: string): Access[] {
  const at = (verb: string, resource: string, more: Partial<Access> = {}): Access => ({ verb, resource, namespace: ns, ...more });
  const others = kinds.filter((k) => k !== e.own);
  return [
    // Its own kind: never created or deleted by the controller.
    ...["create", "delete", "deletecollection"].map((v) => at(v, crd(e.own))),
    // Other kinds: no writes, no reads beyond its table row, no status or finalizers.
    ...others.flatMap((k) => [
      ...[...readVerbs, ...writeVerbs].filter((v) => !e.reads[k]?.includes(v)).map((v) => at(v, crd(k))),
      at("patch", crd(k), { subresource: "status" }),
      at("update", crd(k), { subresource: "status" }),
      at("update", crd(k), { subresource: "finalizers" }),
    ]),
    // Secrets: read by name only; never listed, watched or written.
    ...["list", "watch", ...writeVerbs].map((v) => at(v, "secrets")),
    at("list", "secrets", { namespace: "*" }),
    at("watch", "secrets", { namespace: "*" }),
    ...(e.configMaps
      ? ["watch", "delete", "deletecollection"].map((v) => at(v, "configmaps"))
      : [...readVerbs, ...writeVerbs].map((v) => at(v, "configmaps"))),
    ...["get", "list", "delete"].map((v) => at(v, "events")),
    ...["get", "list", "create", "delete"].map((v) => at(v, "pods")),
    at("create", "pods", { subresource: "exec" }),
    at("get", "pods", { subresource: "log" }),
    at("create", "services"),
    at("create", "persistentvolumeclaims"),
    at("delete", "persistentvolumeclaims"),
    at("create", "persistentvolumes", { namespace: "*" }),
    at("create", "serviceaccounts"),
    at("create", "serviceaccounts", { subresource: "token", name: e.serviceAccount, namespace: operatorNs }),
    at("get", "nodes", { namespace: "*" }),
    at("list", "nodes", { namespace: "*" }),
    at("create", "namespaces", { namespace: "*" }),
    at("delete", "namespaces", { namespace: "*" }),
    ...["create", "escalate", "bind"].map((v) => at(v, "clusterroles.rbac.authorization.k8s.io", { namespace: "*" })),
    at("create", "clusterrolebindings.rbac.authorization.k8s.io", { namespace: "*" }),
    at("create", "roles.rbac.authorization.k8s.io", { namespace: operatorNs }),
    at("create", "rolebindings.rbac.authorization.k8s.io", { namespace: operatorNs }),
    ...["create", "update", "delete"].map((v) => at(v, "customresourcedefinitions.apiextensions.k8s.io", { namespace: "*" })),
    at("update", "deployments.apps", { namespace: operatorNs }),
    at("patch", "deployments.apps", { namespace: operatorNs }),
    ...(e.workerJobs
      ? ["list", "watch", "update", "patch", "deletecollection"].map((v) => at(v, "jobs.batch"))
      : [...readVerbs, ...writeVerbs].map((v) => at(v, "jobs.batch"))),
    at("create", "cronjobs.batch"),
    // Leases: its own only, in the operator's namespace, never deleted or listed.
    at("delete", leases, { name: leaseOf(e), namespace: operatorNs }),
    at("list", leases, { namespace: operatorNs }),
    at("create", leases),
    ...table.filter((o) => o !== e).map((o) => at("update", leases, { name: leaseOf(o), namespace: operatorNs })),
    at("impersonate", "users", { namespace: "*" }),
    at("impersonate", "serviceaccounts"),
    at("*", "*", { namespace: "*" }),
  ];
}

interface Row {
  serviceAccount: string;
  access: Access;
  allowed: boolean;
}

/** Asks every row; fails with every wrong answer listed. Returns [allowed, denied] counts. */
async function check(operatorNs: string, rows: Row[]): Promise<[number, number]> {
  const served = servedResources();
  // A misspelt resource would be denied for anyone: every name must be one the server serves
  // ("users" is impersonation's, not served; "*" is every resource).
  for (const { access } of rows)
    if (!["*", "users"].includes(access.resource))
      assert.ok(served.has(access.resource), `${access.resource} is not a resource the API server serves`);
  const answers = await canIAll(rows.map((r) => ({ serviceAccount: `${operatorNs}/${r.serviceAccount}`, access: r.access })));
  const wrong = rows
    .filter((r, i) => answers[i] !== r.allowed)
    .map((r) => `${r.serviceAccount} ${r.allowed ? "cannot" : "CAN"} ${describeAccess(r.access)}`);
  assert.deepEqual(wrong, [], `${wrong.length} of ${rows.length} answers differ from the table`);
  const allowed = rows.filter((r) => r.allowed).length;
  return [allowed, rows.length - allowed];
}

const suffix = randomUUID().slice(0, 8);
const teamNs = `kbo-rbac-team-${suffix}`;
const otherNs = `kbo-rbac-other-${suffix}`;
const installs: Array<{ namespace: string; clusterObjects: string[] }> = [];

/** Applies the RBAC objects among `objects`, noting what to delete afterwards. */
function install(namespace: string, objects: Array<Record<string, unknown>>): void {
  installs.push({ namespace, clusterObjects: applyRbac(objects) });
}

before(() => {
  applyCrds();
  kubectl(["create", "namespace", teamNs]);
  kubectl(["create", "namespace", otherNs]);
});

after(() => {
  for (const { namespace, clusterObjects } of installs) {
    if (clusterObjects.length) kubectlTry(["delete", "--wait=false", ...clusterObjects]);
    deleteNamespace(namespace);
  }
  deleteNamespace(teamNs);
  deleteNamespace(otherNs);
});

/** Rows of one controller: `allowed` accesses expected yes, `denied` no. */
const rowsOf = (e: Expected, allowed: Access[], denied: Access[]): Row[] => [
  ...allowed.map((access) => ({ serviceAccount: e.serviceAccount, access, allowed: true })),
  ...denied.map((access) => ({ serviceAccount: e.serviceAccount, access, allowed: false })),
];

describe("RBAC matrix on the real API server", () => {
  test("deploy/ (cluster-wide): each controller may do what it needs in any namespace, and none of the forbidden things", async () => {
    const operatorNs = `kbo-rbac-${suffix}`;
    // deploy/ as shipped, its namespace (and the cluster-scoped names it prefixes) made this test's.
    const text = readFileSync(join(deployDir, "10-operator.yaml"), "utf8");
    assert.ok(text.includes("kafka-backup-system"));
    const objects = parseAllDocuments(text.replaceAll("kafka-backup-system", operatorNs)).map(
      (d) => d.toJS() as Record<string, unknown>,
    );
    install(operatorNs, objects);
    const rows = table.flatMap((e) =>
      rowsOf(
        e,
        [
          ...needed(e, teamNs),
          ...leaderElection(e, operatorNs),
          // Cluster-wide: its kind listed and watched, and Secrets read by name, in every namespace.
          ...["list", "watch"].map((verb) => ({ verb, resource: crd(e.own), namespace: "*" })),
          { verb: "get", resource: "secrets", namespace: "*" },
        ],
        forbidden(e, teamNs, operatorNs),
      ),
    );
    const [allowed, denied] = await check(operatorNs, rows);
    console.log(
      `rbac matrix (deploy/, cluster-wide): ${table.length} controllers, ${allowed + denied} checks: ${allowed} allowed, ${denied} denied, all as expected`,
    );
  });

  test("a namespaced installation (watchNamespaces): its rights in the watched namespace, none in another or cluster-wide", async () => {
    const operatorNs = `kbo-rbac-scoped-${suffix}`;
    install(operatorNs, await renderOperator({ ...deployArgs, namespace: operatorNs, watchNamespaces: [teamNs] }));
    const rows = table.flatMap((e) =>
      rowsOf(
        e,
        [...needed(e, teamNs), ...leaderElection(e, operatorNs)],
        [
          ...needed(e, otherNs),
          ...["list", "watch"].map((verb) => ({ verb, resource: crd(e.own), namespace: "*" })),
          { verb: "get", resource: "secrets", namespace: "*" },
          // (The forbidden list is the cluster-wide test's: the Roles hold the same rules.)
        ],
      ),
    );
    const [allowed, denied] = await check(operatorNs, rows);
    console.log(
      `rbac matrix (namespaced): ${table.length} controllers, ${allowed + denied} checks: ${allowed} allowed, ${denied} denied, all as expected`,
    );
  });

  test("the web console (console.enabled): reads the five kinds and Secrets by name, and nothing else, anywhere", async () => {
    const console_ = "kafka-backup-console";
    const rowsFor = (allowed: Access[], denied: Access[]): Row[] => [
      ...allowed.map((access) => ({ serviceAccount: console_, access, allowed: true })),
      ...denied.map((access) => ({ serviceAccount: console_, access, allowed: false })),
    ];
    const reads = (ns: string): Access[] => [
      ...kinds.flatMap((k) => readVerbs.map((verb) => ({ verb, resource: crd(k), namespace: ns }))),
      { verb: "get", resource: "secrets", namespace: ns },
    ];
    const never = (ns: string, operatorNs: string): Access[] => {
      const at = (verb: string, resource: string, more: Partial<Access> = {}): Access => ({
        verb,
        resource,
        namespace: ns,
        ...more,
      });
      return [
        // It writes nothing: no kind, no status, no finalizers, no Events, no ConfigMaps, no Jobs, no Leases.
        ...kinds.flatMap((k) => [
          ...writeVerbs.map((v) => at(v, crd(k))),
          at("patch", crd(k), { subresource: "status" }),
          at("update", crd(k), { subresource: "finalizers" }),
        ]),
        ...["list", "watch", ...writeVerbs].map((v) => at(v, "secrets")),
        at("list", "secrets", { namespace: "*" }),
        ...[...readVerbs, ...writeVerbs].map((v) => at(v, "configmaps")),
        ...["create", "patch"].map((v) => at(v, "events")),
        ...["get", "list", "create"].map((v) => at(v, "pods")),
        at("create", "pods", { subresource: "exec" }),
        ...["get", "create", "delete"].map((v) => at(v, "jobs.batch")),
        at("create", leases, { namespace: operatorNs }),
        at("get", leases, { namespace: operatorNs }),
        at("create", "services"),
        at("get", "nodes", { namespace: "*" }),
        at("create", "clusterroles.rbac.authorization.k8s.io", { namespace: "*" }),
        at("create", "customresourcedefinitions.apiextensions.k8s.io", { namespace: "*" }),
        at("impersonate", "serviceaccounts"),
        at("*", "*", { namespace: "*" }),
      ];
    };

    const clusterNs = `kbo-rbac-console-${suffix}`;
    install(clusterNs, await renderOperator({ ...deployArgs, namespace: clusterNs, console: { enabled: true } }));
    const [allowed, denied] = await check(
      clusterNs,
      rowsFor(
        [
          ...reads(teamNs),
          ...kinds.flatMap((k) => ["list", "watch"].map((verb) => ({ verb, resource: crd(k), namespace: "*" }))),
          { verb: "get", resource: "secrets", namespace: "*" },
        ],
        never(teamNs, clusterNs),
      ),
    );
    const scopedNs = `kbo-rbac-console-scoped-${suffix}`;
    install(
      scopedNs,
      await renderOperator({ ...deployArgs, namespace: scopedNs, watchNamespaces: [teamNs], console: { enabled: true } }),
    );
    const [allowedScoped, deniedScoped] = await check(
      scopedNs,
      rowsFor(reads(teamNs), [
        ...reads(otherNs),
        ...kinds.map((k) => ({ verb: "list", resource: crd(k), namespace: "*" })),
        { verb: "get", resource: "secrets", namespace: "*" },
        ...never(teamNs, scopedNs),
      ]),
    );
    console.log(
      `rbac matrix (console): cluster-wide ${allowed + denied} checks (${allowed} allowed, ${denied} denied), namespaced ${allowedScoped + deniedScoped} checks (${allowedScoped} allowed, ${deniedScoped} denied), all as expected`,
    );
  });
});
