// The one schema source: the five CustomResourceDefinitions of group kafka.oso.sh, assembled from
// the kinds (kinds.ts) and shared blocks (shared.ts). render.ts turns them into the checked-in
// YAML and TypeScript types (`npm run crds`).
import { type Kind, kinds } from "./kinds.ts";
import { object, type Schema, string } from "./openapi.ts";
import { patterns } from "./shared.ts";

export const group = "kafka.oso.sh";
export const version = "v1alpha1";
export const apiVersion = `${group}/${version}`;
export const category = "kafka-backup";

export { type Kind, kinds };

/** The whole openAPIV3Schema of a kind. */
export function rootSchema(k: Kind): Schema {
  return object(
    k.description,
    {
      apiVersion: string("APIVersion of this object: kafka.oso.sh/v1alpha1."),
      kind: string(`Kind of this object: ${k.kind}.`),
      // Only name and generateName may be constrained here. Names are DNS labels (at most 63
      // characters) because they end up in label values, Lease and Job names and backup IDs.
      metadata: {
        type: "object",
        properties: { name: { type: "string", maxLength: 63, pattern: patterns.dnsLabel } },
      },
      spec: k.spec,
      status: k.status,
    },
    { required: ["spec"] },
  );
}

export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    scope: "Namespaced";
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: Kind["printerColumns"];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

export function customResourceDefinition(k: Kind): CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${k.plural}.${group}`,
      labels: { "app.kubernetes.io/name": "kafka-backup-operator", "app.kubernetes.io/part-of": "kafka-backup-operator" },
    },
    spec: {
      group,
      names: {
        kind: k.kind,
        listKind: `${k.kind}List`,
        plural: k.plural,
        singular: k.singular,
        shortNames: k.shortNames,
        categories: [category],
      },
      scope: "Namespaced",
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: k.printerColumns,
          schema: { openAPIV3Schema: rootSchema(k) },
        },
      ],
    },
  };
}

export const customResourceDefinitions = (): CustomResourceDefinition[] => kinds.map(customResourceDefinition);
