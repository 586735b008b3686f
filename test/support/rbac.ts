// Asking the stack's API server what a ServiceAccount may do: `kubectl auth can-i --as=...`, the
// authorizer's own answer (RBAC), many questions at a time.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { kubectl, kubectlTry } from "./kube.ts";
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

/** `kubectl auth can-i` arguments (after the kubeconfig) for the ServiceAccount `namespace/name`. */
function canIArgs(serviceAccount: string, a: Access): string[] {
  const [namespace, name] = serviceAccount.split("/");
  return [
    "auth",
    "can-i",
    a.verb,
    a.name ? `${a.resource}/${a.name}` : a.resource,
    ...(a.namespace === "*" ? ["--all-namespaces"] : ["-n", a.namespace]),
    ...(a.subresource ? [`--subresource=${a.subresource}`] : []),
    `--as=system:serviceaccount:${namespace}:${name}`,
  ];
}

function answer(a: Access, text: string): boolean {
  if (text !== "yes" && text !== "no") throw new Error(`kubectl auth can-i ${describeAccess(a)}: ${text}`);
  return text === "yes";
}

/** The answer for the ServiceAccount `namespace/name` (exit code 1 is "no"). */
export async function canI(serviceAccount: string, a: Access): Promise<boolean> {
  const text = await run(stackEnv("KUBECTL"), ["--kubeconfig", stackEnv("KUBECONFIG"), ...canIArgs(serviceAccount, a)]).then(
    (r) => r.stdout.trim(),
    (err: { code?: number; stdout?: string; stderr?: string }) => (err.code === 1 ? String(err.stdout).trim() : `${err.stderr}`),
  );
  return answer(a, text);
}

/** The same, waiting for kubectl. */
export function canINow(serviceAccount: string, a: Access): boolean {
  const r = kubectlTry(canIArgs(serviceAccount, a));
  return answer(a, r.code <= 1 ? r.stdout.trim() : r.stderr);
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
