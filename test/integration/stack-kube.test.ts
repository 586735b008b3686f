// Smoke tests of the stack's Kubernetes API: a real kube-apiserver on etcd, RBAC enforced.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  Watch,
} from "@kubernetes/client-node";
import { serviceAccountKubeconfig } from "../stack/kube.ts";
import { stackEnv } from "../support/stack-env.ts";

const group = "smoke.kbo.test";
const plural = "widgets";
const suffix = randomUUID().slice(0, 8);
const namespace = `smoke-${suffix}`;

const kc = new KubeConfig();
const core = () => kc.makeApiClient(CoreV1Api);

before(async () => {
  kc.loadFromFile(stackEnv("KUBECONFIG"));
  await core().createNamespace({ body: { metadata: { name: namespace } } });
});

after(async () => {
  await core()
    .deleteNamespace({ name: namespace })
    .catch(() => {});
});

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("stack: Kubernetes API", () => {
  test("a CRD is applied; a custom resource is created, watched and its status patched", async () => {
    const crds = kc.makeApiClient(ApiextensionsV1Api);
    const name = `${plural}.${group}`;
    await crds.deleteCustomResourceDefinition({ name }).catch(() => {});
    await eventually(
      "old CRD gone",
      async () =>
        await crds.readCustomResourceDefinition({ name }).then(
          () => undefined,
          () => true,
        ),
    );
    await crds.createCustomResourceDefinition({
      body: {
        metadata: { name },
        spec: {
          group,
          scope: "Namespaced",
          names: { plural, singular: "widget", kind: "Widget" },
          versions: [
            {
              name: "v1",
              served: true,
              storage: true,
              subresources: { status: {} },
              schema: {
                openAPIV3Schema: {
                  type: "object",
                  properties: {
                    spec: { type: "object", properties: { size: { type: "integer", minimum: 1 } }, required: ["size"] },
                    status: { type: "object", properties: { phase: { type: "string" } } },
                  },
                },
              },
            },
          ],
        },
      },
    });
    await eventually("CRD established", async () => {
      const crd = await crds.readCustomResourceDefinition({ name });
      return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ? true : undefined;
    });

    const objects = kc.makeApiClient(CustomObjectsApi);
    // The CRD's endpoint answers a moment after Established; creating is retried until it does.
    const created = await eventually("CR created", () =>
      objects.createNamespacedCustomObject({
        group,
        version: "v1",
        namespace,
        plural,
        body: { apiVersion: `${group}/v1`, kind: "Widget", metadata: { name: "w1" }, spec: { size: 3 } },
      }),
    );
    assert.equal((created as { spec: { size: number } }).spec.size, 3);

    const seen: string[] = [];
    const watchErrors: unknown[] = [];
    const watching = await new Watch(kc).watch(
      `/apis/${group}/v1/namespaces/${namespace}/${plural}`,
      {},
      (type: string, obj: { status?: { phase?: string } }) => seen.push(`${type}:${obj.status?.phase ?? "-"}`),
      (err: unknown) => err && watchErrors.push(err),
    );
    try {
      // The schema is enforced by the real API server.
      await assert.rejects(
        objects.createNamespacedCustomObject({
          group,
          version: "v1",
          namespace,
          plural,
          body: { apiVersion: `${group}/v1`, kind: "Widget", metadata: { name: "w2" }, spec: { size: 0 } },
        }),
        (err: ApiException<string>) => err.code === 422 && /spec\.size/.test(String(err.body)),
      );

      const patched = await objects.patchNamespacedCustomObjectStatus(
        { group, version: "v1", namespace, plural, name: "w1", body: { status: { phase: "Ready" } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      assert.equal((patched as { status: { phase: string } }).status.phase, "Ready");
      await eventually("watch events", async () =>
        seen.includes("ADDED:-") && seen.includes("MODIFIED:Ready") ? true : undefined,
      );
    } finally {
      watching.abort();
      await crds.deleteCustomResourceDefinition({ name }).catch(() => {});
    }
  });

  test("a ServiceAccount's kubeconfig gets what its Role allows and is denied the rest", async () => {
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await core().createNamespacedServiceAccount({ namespace, body: { metadata: { name: "reader" } } });
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: "configmap-reader" },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: "reader" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "configmap-reader" },
        subjects: [{ kind: "ServiceAccount", name: "reader", namespace }],
      },
    });
    const file = join(mkdtempSync(join(tmpdir(), "kbo-sa-")), "reader.kubeconfig");
    const env = Object.fromEntries(["KUBECTL", "KUBECONFIG", "KUBE_APISERVER_URL", "KUBE_CA_CERT"].map((k) => [k, stackEnv(k)]));
    serviceAccountKubeconfig(env, namespace, "reader", file);
    const asReader = new KubeConfig();
    asReader.loadFromFile(file);
    const readerCore = asReader.makeApiClient(CoreV1Api);

    const allowed = await eventually("RBAC propagated", () => readerCore.listNamespacedConfigMap({ namespace }));
    assert.ok(Array.isArray(allowed.items));
    await assert.rejects(readerCore.listNamespacedSecret({ namespace }), (err: ApiException<string>) => err.code === 403);
    await assert.rejects(
      readerCore.createNamespacedConfigMap({ namespace, body: { metadata: { name: "nope" } } }),
      (err: ApiException<string>) => err.code === 403,
    );
    await assert.rejects(
      readerCore.listNamespacedConfigMap({ namespace: "default" }),
      (err: ApiException<string>) => err.code === 403,
    );
  });
});
