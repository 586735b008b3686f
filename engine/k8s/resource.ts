// What every custom resource has, and the writes the runtime makes on one: status (a merge patch
// on the status subresource, guarded by resourceVersion when asked), and finalizers.
import type { Kube } from "./client.ts";

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  generation: number;
  resourceVersion: string;
  creationTimestamp: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface CustomResource<Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

export interface Kind {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export const keyOf = (o: { metadata: { namespace: string; name: string } }) => `${o.metadata.namespace}/${o.metadata.name}`;

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf("/");
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export class Resources<Spec, Status> {
  private readonly kube: Kube;
  readonly kind: Kind;

  constructor(kube: Kube, kind: Kind) {
    this.kube = kube;
    this.kind = kind;
  }

  async get(namespace: string, name: string): Promise<CustomResource<Spec, Status>> {
    const { group, version, plural } = this.kind;
    return (await this.kube.objects.getNamespacedCustomObject({ group, version, plural, namespace, name })) as CustomResource<
      Spec,
      Status
    >;
  }

  /**
   * Merges `status` into the object's status. With `resourceVersion`, the write fails with 409
   * when the object changed since it was read: how a scheduled run is claimed exactly once.
   */
  async patchStatus(
    o: CustomResource<Spec, Status>,
    status: Partial<Status>,
    resourceVersion?: string,
  ): Promise<CustomResource<Spec, Status>> {
    const { group, version, plural } = this.kind;
    const body: Record<string, unknown> = { status };
    if (resourceVersion) body.metadata = { resourceVersion };
    return (await this.kube.objects.patchNamespacedCustomObjectStatus({
      group,
      version,
      plural,
      namespace: o.metadata.namespace,
      name: o.metadata.name,
      body,
    })) as CustomResource<Spec, Status>;
  }

  async setFinalizers(o: CustomResource<Spec, Status>, finalizers: string[]): Promise<CustomResource<Spec, Status>> {
    const { group, version, plural } = this.kind;
    return (await this.kube.objects.patchNamespacedCustomObject({
      group,
      version,
      plural,
      namespace: o.metadata.namespace,
      name: o.metadata.name,
      body: { metadata: { finalizers, resourceVersion: o.metadata.resourceVersion } },
    })) as CustomResource<Spec, Status>;
  }
}
