// Asking the stack's API server what a ServiceAccount may do: `kubectl auth can-i --as=...`, the
// authorizer's own answer (RBAC), many questions at a time.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { kubectl } from "./kube.ts";
import { stackEnv } from "./stack-env.ts";

const run = promisify(execFile);

/** One question: may the subject `verb` `resource` (with subresource and name) in `namespace` ("*" = every namespace)? */
export interface Access {
  verb: string;
  /** Plural, with its API group for anything outside the core group: leases.coordination.k8s.io. */
  resource: string;
  subresource?: string;
  name?: string;
  namespace: string;
}

export const describeAccess = (a: Access) =>
  `${a.verb} ${a.resource}${a.subresource ? `/${a.subresource}` : ""}${a.name ? ` ${a.name}` : ""} in ${a.namespace === "*" ? "all namespaces" : a.namespace}`;

/** The answer for the ServiceAccount `namespace/name`. */
export async function canI(serviceAccount: string, a: Access): Promise<boolean> {
  const [namespace, name] = serviceAccount.split("/");
  const args = ["--kubeconfig", stackEnv("KUBECONFIG"), "auth", "can-i", a.verb, a.name ? `${a.resource}/${a.name}` : a.resource];
  args.push(...(a.namespace === "*" ? ["--all-namespaces"] : ["-n", a.namespace]));
  if (a.subresource) args.push(`--subresource=${a.subresource}`);
  args.push(`--as=system:serviceaccount:${namespace}:${name}`);
  const answer = await run(stackEnv("KUBECTL"), args).then(
    (r) => r.stdout.trim(),
    (err: { code?: number; stdout?: string; stderr?: string }) => (err.code === 1 ? String(err.stdout).trim() : `${err.stderr}`),
  );
  if (answer !== "yes" && answer !== "no") throw new Error(`kubectl auth can-i ${describeAccess(a)}: ${answer}`);
  return answer === "yes";
}

/** Answers for many questions, `concurrency` kubectl processes at a time, in order. */
export async function canIAll(questions: Array<{ serviceAccount: string; access: Access }>, concurrency = 6): Promise<boolean[]> {
  const answers: boolean[] = new Array(questions.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < questions.length) {
        const i = next++;
        const q = questions[i] as (typeof questions)[number];
        answers[i] = await canI(q.serviceAccount, q.access);
      }
    }),
  );
  return answers;
}

const rbacKinds = new Set(["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]);

/**
 * Applies the namespace, ServiceAccounts and RBAC among rendered objects (the component's or
 * deploy/'s); returns the cluster-scoped ones (kind/name), which deleting the namespace leaves.
 */
export function applyRbac(objects: Array<Record<string, unknown>>): string[] {
  const rbac = objects.filter((o) => rbacKinds.has(String(o.kind)));
  kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: rbac }));
  return rbac
    .filter((o) => String(o.kind).startsWith("Cluster"))
    .map((o) => `${String(o.kind).toLowerCase()}/${(o.metadata as { name: string }).name}`);
}

/** Every resource type the API server serves, as `kubectl auth can-i` names them (plural.group). */
export function servedResources(): Set<string> {
  return new Set(kubectl(["api-resources", "-o", "name"]).split("\n").filter(Boolean));
}
