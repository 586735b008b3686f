// Storage backends are shared per configuration: the same storage block with the same Secret
// values gets the same backend (one SDK client, not one per reconcile); other values, another.
import assert from "node:assert/strict";
import { test } from "node:test";
import { openSharedStorage, sharedStorageCount } from "../../engine/k8s/clients.ts";
import type { SecretReader, StorageSpec } from "../../engine/storage/config.ts";

test("one backend per storage configuration and credentials", async () => {
  const s3 = (prefix: string): StorageSpec => ({
    storageType: "s3",
    s3: {
      bucket: "b",
      region: "us-east-1",
      endpoint: "http://127.0.0.1:9",
      allowHttp: true,
      pathStyle: true,
      prefix,
      credentialsSecret: { name: "creds" },
    },
  });
  let reads = 0;
  const secrets =
    (key: string): SecretReader =>
    async () => {
      reads++;
      return key;
    };
  const before = sharedStorageCount();
  const a = await openSharedStorage(s3("team-a"), secrets("k1"));
  const again = await openSharedStorage(s3("team-a"), secrets("k1"));
  assert.equal(again, a, "the same configuration shares its backend");
  assert.ok(reads >= 4, "Secrets are read on every call");
  const rotated = await openSharedStorage(s3("team-a"), secrets("k2"));
  assert.notEqual(rotated, a, "a rotated credential makes a new backend");
  const other = await openSharedStorage(s3("team-b"), secrets("k1"));
  assert.notEqual(other, a, "another prefix is another backend");
  assert.equal(sharedStorageCount() - before, 3);
});
