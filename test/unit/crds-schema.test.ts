// The CRD schema source: the checked-in YAML and types are what the generator produces now, every
// field is described, every existing operator field is still accepted with its type and default,
// printer columns point at real fields of the right type, and the types agree with the engine's.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import type * as generated from "../../crds/generated/types.ts";
import { type Schema, walk } from "../../crds/openapi.ts";
import {
  generatedReferencePath,
  generatedTypesPath,
  generatedYamlPath,
  renderReference,
  renderTypes,
  renderYaml,
} from "../../crds/render.ts";
import { customResourceDefinitions, kinds, rootSchema } from "../../crds/schema.ts";
import type { BackupSpec } from "../../engine/cli/spec.ts";
import type { KafkaClusterSpec } from "../../engine/kafka/spec.ts";
import type { RestoreSpec } from "../../engine/restore/spec.ts";
import type * as engine from "../../engine/storage/config.ts";

const repoRoot = join(import.meta.dirname, "..", "..");

interface ExistingField {
  path: string;
  type: string;
  default?: unknown;
  enum?: unknown[];
  required?: boolean;
}
const existing = JSON.parse(readFileSync(join(repoRoot, "test/fixtures/crds/existing-operator-v1.2.1-fields.json"), "utf8")) as {
  kinds: Record<string, { plural: string; shortNames: string[]; fields: ExistingField[] }>;
};

/** Every path of a kind's spec and status, as `spec.a.b`, `spec.list[]`, `spec.map{}`. */
function paths(kind: (typeof kinds)[number]): Map<string, { schema: Schema; required: boolean }> {
  const out = new Map<string, { schema: Schema; required: boolean }>();
  const visit = (schema: Schema, path: string, required: boolean) => {
    out.set(path, { schema, required });
    const req = new Set(schema.required ?? []);
    for (const [key, child] of Object.entries(schema.properties ?? {})) visit(child, `${path}.${key}`, req.has(key));
    if (schema.items) visit(schema.items, `${path}[]`, false);
    if (schema.additionalProperties) visit(schema.additionalProperties, `${path}{}`, false);
  };
  visit(kind.spec, "spec", true);
  visit(kind.status, "status", false);
  return out;
}

describe("crds: generated files", () => {
  test("crds/generated/crds.yaml is what `npm run crds` writes now", () => {
    const current = readFileSync(join(repoRoot, generatedYamlPath), "utf8");
    assert.ok(current === renderYaml(), "crds/generated/crds.yaml is out of date: run `npm run crds`");
  });

  test("docs/reference.md is what `npm run crds` writes now", () => {
    const current = readFileSync(join(repoRoot, generatedReferencePath), "utf8");
    assert.ok(current === renderReference(), "docs/reference.md is out of date: run `npm run crds`");
  });

  test("crds/generated/types.ts is what `npm run crds` writes now", () => {
    const current = readFileSync(join(repoRoot, generatedTypesPath), "utf8");
    assert.ok(current === renderTypes(), "crds/generated/types.ts is out of date: run `npm run crds`");
  });

  test("five namespaced kinds of kafka.oso.sh/v1alpha1 with status subresource, short names and printer columns", () => {
    const crds = customResourceDefinitions();
    assert.deepEqual(
      crds.map((c) => [c.metadata.name, c.spec.names.shortNames[0], c.spec.scope]),
      [
        ["kafkabackups.kafka.oso.sh", "kb", "Namespaced"],
        ["kafkarestores.kafka.oso.sh", "kr", "Namespaced"],
        ["kafkaoffsetresets.kafka.oso.sh", "kor", "Namespaced"],
        ["kafkaoffsetrollbacks.kafka.oso.sh", "korb", "Namespaced"],
        ["kafkabackupvalidations.kafka.oso.sh", "kbv", "Namespaced"],
      ],
    );
    for (const crd of crds) {
      const [v] = crd.spec.versions;
      assert.equal(crd.spec.versions.length, 1);
      assert.equal(v?.name, "v1alpha1");
      assert.deepEqual(v?.subresources, { status: {} });
      assert.ok((v?.additionalPrinterColumns.length ?? 0) >= 3);
    }
  });
});

describe("crds: schema quality", () => {
  test("every field has a description (kubectl explain reads well)", () => {
    const missing: string[] = [];
    for (const k of kinds) {
      for (const [path, schema] of walk(rootSchema(k), k.kind)) {
        if (path.startsWith(`${k.kind}.metadata`)) continue;
        if (!schema.description?.trim()) missing.push(path);
      }
    }
    assert.deepEqual(missing, []);
  });

  test("every CEL rule has a message that names a field", () => {
    for (const k of kinds) {
      for (const [path, schema] of walk(rootSchema(k), k.kind)) {
        for (const r of schema["x-kubernetes-validations"] ?? []) {
          assert.ok(r.message || r.messageExpression, `${path}: rule ${r.rule} has no message`);
          assert.match(r.message ?? "", /[a-z][A-Za-z]+/, `${path}: rule message should name a field`);
        }
      }
    }
  });

  test("CEL rules sit only where the API server can bound their cost: no rule inside an unbounded list or map", () => {
    for (const k of kinds) {
      const visit = (schema: Schema, path: string, unbounded: boolean) => {
        if (schema["x-kubernetes-validations"])
          assert.ok(!unbounded, `${path}: CEL rule under a list or map without maxItems/maxProperties`);
        const open =
          unbounded ||
          (schema.items !== undefined && schema.maxItems === undefined) ||
          (schema.additionalProperties !== undefined && schema.maxProperties === undefined);
        for (const [key, child] of Object.entries(schema.properties ?? {})) visit(child, `${path}.${key}`, open);
        if (schema.items) visit(schema.items, `${path}[]`, open);
        if (schema.additionalProperties) visit(schema.additionalProperties, `${path}{}`, open);
      };
      visit(k.spec, `${k.kind}.spec`, false);
    }
  });

  test("free-form (preserved unknown) fields only where documented as free-form", () => {
    const preserved = kinds.flatMap((k) =>
      [...walk(rootSchema(k), k.kind)].filter(([, s]) => s["x-kubernetes-preserve-unknown-fields"]).map(([p]) => p),
    );
    assert.deepEqual(preserved, ["KafkaBackupValidation.status.checkResults[].details"]);
  });

  test("printer columns point at real fields of the column's type (Progress is a number)", () => {
    const columnType = (s: Schema) =>
      s.format === "date-time" ? "date" : s.type === "integer" ? "integer" : s.type === "number" ? "number" : s.type;
    for (const k of kinds) {
      const all = paths(k);
      for (const column of k.printerColumns) {
        if (column.jsonPath === ".metadata.creationTimestamp") continue;
        const field = all.get(column.jsonPath.slice(1));
        assert.ok(field, `${k.kind} column ${column.name}: ${column.jsonPath} is not in the schema`);
        assert.equal(column.type, columnType(field.schema), `${k.kind} column ${column.name}`);
        assert.ok(column.description, `${k.kind} column ${column.name} has no description`);
      }
    }
    const progress = kinds.find((k) => k.kind === "KafkaRestore")?.printerColumns.find((c) => c.name === "Progress");
    assert.equal(progress?.type, "number");
  });
});

describe("crds: drop-in for the existing operator v1.2.1", () => {
  for (const k of kinds) {
    test(`${k.kind}: every existing field with the same name, type and default; nothing newly required`, () => {
      const before = existing.kinds[k.kind];
      assert.ok(before, `${k.kind} missing from the fixture`);
      assert.equal(k.plural, before.plural);
      assert.deepEqual(k.shortNames, before.shortNames);
      const ours = paths(k);
      const problems: string[] = [];
      const theirs = new Map(before.fields.map((f) => [f.path, f]));
      for (const field of before.fields) {
        const mine = ours.get(field.path);
        if (!mine) {
          problems.push(`${field.path}: missing`);
          continue;
        }
        if (mine.schema.type !== field.type) problems.push(`${field.path}: type ${mine.schema.type}, was ${field.type}`);
        if (field.default !== undefined && JSON.stringify(mine.schema.default) !== JSON.stringify(field.default)) {
          problems.push(`${field.path}: default ${JSON.stringify(mine.schema.default)}, was ${JSON.stringify(field.default)}`);
        }
        for (const value of field.enum ?? []) {
          if (mine.schema.enum && !mine.schema.enum.includes(value as string)) problems.push(`${field.path}: enum lost ${value}`);
        }
      }
      // A field required here must have been required before, or sit inside an addition.
      for (const [path, mine] of ours) {
        if (!mine.required || path === "spec") continue;
        const old = theirs.get(path);
        if (old && !old.required) problems.push(`${path}: newly required`);
        if (!old) {
          const parent = path.replace(/(\.[^.]+|\[\]|\{\})$/, "");
          if (theirs.has(parent)) problems.push(`${path}: a new required field inside an existing block`);
        }
      }
      assert.deepEqual(problems, []);
    });
  }
});

// Compile-time agreement with the engine's types (tsc runs over this file): the generated spec
// types must be usable where the engine takes its config, and carry every field the engine reads.
type KeysCovered<Engine, Generated> = Exclude<keyof Engine, keyof Generated> extends never ? true : never;
const storageAgrees: [
  KeysCovered<engine.StorageSpec, generated.StorageSpec>,
  KeysCovered<engine.PvcStorageSpec, generated.PvcStorageSpec>,
  KeysCovered<engine.PvcCreateSpec, generated.PvcCreateSpec>,
  KeysCovered<engine.S3StorageSpec, generated.S3StorageSpec>,
  KeysCovered<engine.S3CredentialsSecret, generated.S3CredentialsSecretRef>,
  KeysCovered<engine.AzureStorageSpec, generated.AzureStorageSpec>,
  KeysCovered<engine.AzureKeySecret, generated.AzureKeySecretRef>,
  KeysCovered<engine.AzureSasSecret, generated.AzureSasSecretRef>,
  KeysCovered<engine.AzureServicePrincipalSecret, generated.AzureServicePrincipalSecretRef>,
  KeysCovered<engine.AzureConnectionStringSecret, generated.AzureConnectionStringSecretRef>,
  KeysCovered<engine.GcsStorageSpec, generated.GcsStorageSpec>,
  KeysCovered<engine.GcsCredentialsSecret, generated.GcsCredentialsSecretRef>,
  KeysCovered<KafkaClusterSpec, generated.KafkaClusterSpec>,
  KeysCovered<BackupSpec, generated.KafkaBackupSpec>,
  KeysCovered<RestoreSpec, generated.KafkaRestoreSpec>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true, true];
const usableByEngine = (spec: generated.KafkaBackupSpec): [engine.StorageSpec, KafkaClusterSpec, BackupSpec] => [
  spec.storage,
  spec.kafkaCluster,
  spec,
];
const restoreUsableByEngine = (spec: generated.KafkaRestoreSpec): RestoreSpec => spec;

test("crds: generated types agree with the engine's storage, Kafka and backup config types", () => {
  assert.equal(storageAgrees.length, 15);
  assert.equal(typeof usableByEngine, "function");
  assert.equal(typeof restoreUsableByEngine, "function");
});
