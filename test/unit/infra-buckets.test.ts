// The bucket components under Pulumi's mocks (no cloud account here): private, encrypted,
// versioned buckets with lifecycle rules, the credentials Secret under the key names the CRDs
// default to, the KafkaBackup `storage` block each exposes, and argument errors.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import type { StorageSpec } from "../../crds/generated/types.ts";
import { AzureBackupStorage, GcsBackupBucket, S3BackupBucket } from "../../infra/buckets.ts";

// biome-ignore lint/suspicious/noExplicitAny: resource inputs are untyped JSON, read by path
type Obj = Record<string, any>;
interface Registered {
  type: string;
  name: string;
  inputs: Obj;
}

let registered: Registered[] = [];
pulumi.runtime.setMocks(
  {
    newResource(args) {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs });
      // Outputs a cloud provider would compute.
      const state: Obj = { ...args.inputs };
      if (args.type === "aws:s3/bucket:Bucket") {
        state.bucket = args.inputs.bucket ?? `${args.name}-a1b2c3`;
        state.arn = `arn:aws:s3:::${state.bucket}`;
      }
      if (args.type === "aws:iam/accessKey:AccessKey") state.secret = "wJalrXUtnFEMI/K7MDENG";
      if (args.type === "aws:iam/user:User") state.name = `${args.name}-user`;
      if (args.type === "azure-native:storage:StorageAccount") state.name = args.inputs.accountName ?? "kboacct123";
      if (args.type === "azure-native:storage:BlobContainer") state.name = args.inputs.containerName;
      if (args.type === "gcp:storage/bucket:Bucket") state.name = args.inputs.name ?? `${args.name}-d4e5`;
      if (args.type === "gcp:serviceaccount/account:Account") {
        state.email = `${args.inputs.accountId}@project.iam.gserviceaccount.com`;
        state.name = `projects/p/serviceAccounts/${state.email}`;
      }
      if (args.type === "gcp:serviceaccount/key:Key")
        state.privateKey = Buffer.from('{"type":"service_account"}').toString("base64");
      return { id: `${args.name}-id`, state };
    },
    call(args) {
      if (args.token === "azure-native:storage:listStorageAccountKeys")
        return { keys: [{ keyName: "key1", value: "c2VjcmV0LWtleQ==" }] };
      return args.inputs;
    },
  },
  "kafka-backup-operator",
  "test",
  false,
);

async function settle(): Promise<void> {
  let count = -1;
  for (let quiet = 0; quiet < 5; ) {
    await new Promise((r) => setTimeout(r, 10));
    if (registered.length === count) quiet++;
    else {
      quiet = 0;
      count = registered.length;
    }
  }
}
const one = (type: string): Obj => {
  const found = registered.filter((r) => r.type === type);
  assert.equal(found.length, 1, `one ${type}`);
  return (found[0] as Registered).inputs;
};
/** Pulumi's wire form of a secret value: the component's Secrets must hold their data as secrets. */
const secretSig = "4dabf18193072939515e22adb298388d";
function secretValue(v: Obj): Obj {
  assert.equal(v?.[secretSig], "1b47061264138c4ac30d75fd1eb44270", "stored as a Pulumi secret");
  return v.value;
}
const resolved = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

describe("S3BackupBucket", () => {
  test("a private, versioned, encrypted bucket with lifecycle rules, and a Secret with a bucket-only key", async () => {
    registered = [];
    const b = new S3BackupBucket("backups", { region: "eu-west-1", credentialsSecret: { namespace: "team-a" } });
    await settle();
    assert.equal(one("aws:s3/bucket:Bucket").forceDestroy, false);
    assert.deepEqual(one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"), {
      bucket: "backups-id",
      region: "eu-west-1",
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    assert.deepEqual(one("aws:s3/bucketVersioning:BucketVersioning").versioningConfiguration, { status: "Enabled" });
    assert.deepEqual(one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").rules, [
      { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
    ]);
    const [rule] = one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").rules;
    assert.equal(rule.status, "Enabled");
    assert.deepEqual(rule.noncurrentVersionExpiration, { noncurrentDays: 30 });
    assert.deepEqual(rule.abortIncompleteMultipartUpload, { daysAfterInitiation: 7 });
    const policy = JSON.parse(one("aws:iam/userPolicy:UserPolicy").policy);
    assert.deepEqual(
      policy.Statement.map((s: Obj) => s.Resource),
      ["arn:aws:s3:::backups-a1b2c3", "arn:aws:s3:::backups-a1b2c3/*"],
    );
    assert.ok(!JSON.stringify(policy).includes('"s3:*"'));
    const secret = one("kubernetes:core/v1:Secret");
    assert.equal(secret.metadata.namespace, "team-a");
    assert.deepEqual(Object.keys(secretValue(secret.stringData)).sort(), ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
    assert.deepEqual(await resolved(b.storage), {
      storageType: "s3",
      s3: { bucket: "backups-a1b2c3", region: "eu-west-1", credentialsSecret: { name: "backups" } },
    } satisfies StorageSpec);
  });

  test("SSE-KMS with a key; no IAM user or Secret unless asked", async () => {
    registered = [];
    new S3BackupBucket("kms", { region: "us-east-1", kmsKeyArn: "arn:aws:kms:us-east-1:1:key/k", noncurrentVersionDays: 90 });
    await settle();
    assert.deepEqual(one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").rules, [
      {
        applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "arn:aws:kms:us-east-1:1:key/k" },
        bucketKeyEnabled: true,
      },
    ]);
    assert.equal(
      one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").rules[0].noncurrentVersionExpiration.noncurrentDays,
      90,
    );
    assert.equal(registered.filter((r) => r.type.startsWith("aws:iam") || r.type.startsWith("kubernetes:")).length, 0);
  });

  test("argument errors name the argument", () => {
    assert.throws(() => new S3BackupBucket("x", { region: "" }), /S3BackupBucket x: args\.region is required/);
    assert.throws(
      () => new S3BackupBucket("x", { region: "eu-west-1", noncurrentVersionDays: 0 }),
      /args\.noncurrentVersionDays/,
    );
  });
});

describe("AzureBackupStorage", () => {
  test("a private StorageV2 account (TLS 1.2, HTTPS only) and container; the key in a Secret", async () => {
    registered = [];
    const s = new AzureBackupStorage("backups", {
      resourceGroupName: "rg",
      credentialsSecret: { namespace: "team-a", name: "azure-key" },
    });
    await settle();
    const account = one("azure-native:storage:StorageAccount");
    assert.equal(account.kind, "StorageV2");
    assert.equal(account.allowBlobPublicAccess, false);
    assert.equal(account.enableHttpsTrafficOnly, true);
    assert.equal(account.minimumTlsVersion, "TLS1_2");
    assert.equal(account.allowSharedKeyAccess, true);
    const container = one("azure-native:storage:BlobContainer");
    assert.equal(container.publicAccess, "None");
    assert.equal(container.containerName, "kafka-backups");
    const secret = one("kubernetes:core/v1:Secret");
    assert.equal(secret.metadata.name, "azure-key");
    assert.deepEqual(secretValue(secret.stringData), { AZURE_STORAGE_KEY: "c2VjcmV0LWtleQ==" });
    assert.deepEqual(await resolved(s.storage), {
      storageType: "azure",
      azure: { accountName: "kboacct123", container: "kafka-backups", credentialsSecret: { name: "azure-key" } },
    } satisfies StorageSpec);
  });

  test("without a Secret: no shared keys, workload identity", async () => {
    registered = [];
    const s = new AzureBackupStorage("wi", { resourceGroupName: "rg", accountName: "kbowi" });
    await settle();
    assert.equal(one("azure-native:storage:StorageAccount").allowSharedKeyAccess, false);
    assert.equal((await resolved(s.storage)).azure?.useWorkloadIdentity, true);
    assert.throws(
      () => new AzureBackupStorage("x", { resourceGroupName: "" }),
      /AzureBackupStorage x: args\.resourceGroupName is required/,
    );
    assert.throws(
      () => new AzureBackupStorage("x", { resourceGroupName: "rg", containerName: "Bad_Name" }),
      /args\.containerName "Bad_Name"/,
    );
  });
});

describe("GcsBackupBucket", () => {
  test("uniform access, public access prevented, versioned, old versions expire; a key with object admin on this bucket only", async () => {
    registered = [];
    const b = new GcsBackupBucket("backups", { location: "EU", credentialsSecret: { namespace: "team-a" } });
    await settle();
    const bucket = one("gcp:storage/bucket:Bucket");
    assert.equal(bucket.uniformBucketLevelAccess, true);
    assert.equal(bucket.publicAccessPrevention, "enforced");
    assert.deepEqual(bucket.versioning, { enabled: true });
    assert.deepEqual(bucket.lifecycleRules, [
      { action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: 30, withState: "ARCHIVED" } },
    ]);
    const member = one("gcp:storage/bucketIAMMember:BucketIAMMember");
    assert.equal(member.bucket, "backups-d4e5");
    assert.equal(member.role, "roles/storage.objectAdmin");
    assert.equal(member.member, "serviceAccount:backups@project.iam.gserviceaccount.com");
    const secret = one("kubernetes:core/v1:Secret");
    assert.deepEqual(secretValue(secret.stringData), { SERVICE_ACCOUNT_JSON: '{"type":"service_account"}' });
    assert.deepEqual(await resolved(b.storage), {
      storageType: "gcs",
      gcs: { bucket: "backups-d4e5", credentialsSecret: { name: "backups" } },
    } satisfies StorageSpec);
    assert.throws(() => new GcsBackupBucket("x", { location: "" }), /GcsBackupBucket x: args\.location is required/);
  });
});
