// Where backups go, made by Pulumi: an S3 bucket, an Azure storage account and container, or a
// GCS bucket, each private, encrypted and versioned, and optionally the credentials Secret that a
// KafkaBackup's `storage` block references (keys named as the CRDs default them). Each component
// exposes `storage`: the `storage` block to put in a KafkaBackup spec. Separate from the operator
// component: a cluster has one operator and as many buckets as teams want.
import * as aws from "@pulumi/aws";
import * as azureStorage from "@pulumi/azure-native/storage/index.js";
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StorageSpec } from "../crds/generated/types.ts";

/** Where to write the credentials Secret that KafkaBackups in `namespace` reference. */
export interface CredentialsSecretArgs {
  namespace: pulumi.Input<string>;
  /** Default: the component's name. */
  name?: string;
}

function requireArg(component: string, name: string, arg: string, value: unknown): void {
  if (value === undefined || value === null || value === "") throw new Error(`${component} ${name}: args.${arg} is required`);
}

function positiveDays(component: string, name: string, arg: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
    throw new Error(`${component} ${name}: args.${arg} must be a whole number of days (at least 1), not ${value}`);
  }
}

// ── AWS S3 ─────────────────────────────────────────────────────────────────────────────────────

export interface S3BackupBucketArgs {
  /** Default: generated from the component's name. */
  bucketName?: pulumi.Input<string>;
  /** The bucket's region, as the KafkaBackup must name it. */
  region: string;
  /** A KMS key for SSE-KMS; default SSE-S3 (AES256). */
  kmsKeyArn?: pulumi.Input<string>;
  /** Delete overwritten or deleted objects' old versions after this many days (default 30). */
  noncurrentVersionDays?: number;
  /** Abort incomplete multipart uploads after this many days (default 7). */
  abortIncompleteUploadDays?: number;
  /** Let `pulumi destroy` delete a bucket that still holds backups (default false). */
  forceDestroy?: boolean;
  /**
   * An IAM user limited to this bucket, its access key in a Secret (AWS_ACCESS_KEY_ID,
   * AWS_SECRET_ACCESS_KEY). Without it, grant access your own way (e.g. IRSA).
   */
  credentialsSecret?: CredentialsSecretArgs;
  tags?: Record<string, string>;
}

export class S3BackupBucket extends pulumi.ComponentResource {
  public readonly bucket: pulumi.Output<string>;
  public readonly arn: pulumi.Output<string>;
  /** The KafkaBackup `storage` block for this bucket. */
  public readonly storage: pulumi.Output<StorageSpec>;

  constructor(name: string, args: S3BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    const component = "S3BackupBucket";
    requireArg(component, name, "region", args?.region);
    positiveDays(component, name, "noncurrentVersionDays", args.noncurrentVersionDays);
    positiveDays(component, name, "abortIncompleteUploadDays", args.abortIncompleteUploadDays);
    super("kafka-backup-operator:aws:S3BackupBucket", name, {}, opts);
    const parent = { parent: this };
    const region = args.region;

    const bucket = new aws.s3.Bucket(
      name,
      { bucket: args.bucketName, region, forceDestroy: args.forceDestroy ?? false, tags: args.tags },
      parent,
    );
    new aws.s3.BucketPublicAccessBlock(
      name,
      {
        bucket: bucket.id,
        region,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      parent,
    );
    new aws.s3.BucketOwnershipControls(
      name,
      { bucket: bucket.id, region, rule: { objectOwnership: "BucketOwnerEnforced" } },
      parent,
    );
    new aws.s3.BucketVersioning(name, { bucket: bucket.id, region, versioningConfiguration: { status: "Enabled" } }, parent);
    new aws.s3.BucketServerSideEncryptionConfiguration(
      name,
      {
        bucket: bucket.id,
        region,
        rules: [
          {
            applyServerSideEncryptionByDefault: args.kmsKeyArn
              ? { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyArn }
              : { sseAlgorithm: "AES256" },
            bucketKeyEnabled: args.kmsKeyArn ? true : undefined,
          },
        ],
      },
      parent,
    );
    new aws.s3.BucketLifecycleConfiguration(
      name,
      {
        bucket: bucket.id,
        region,
        rules: [
          {
            id: "old-versions-and-incomplete-uploads",
            status: "Enabled",
            filter: { prefix: "" },
            noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionDays ?? 30 },
            abortIncompleteMultipartUpload: { daysAfterInitiation: args.abortIncompleteUploadDays ?? 7 },
          },
        ],
      },
      parent,
    );

    let secretName: string | undefined;
    if (args.credentialsSecret) {
      secretName = args.credentialsSecret.name ?? name;
      const user = new aws.iam.User(name, { tags: args.tags }, parent);
      new aws.iam.UserPolicy(
        name,
        {
          user: user.name,
          policy: bucket.arn.apply((arn) =>
            JSON.stringify({
              Version: "2012-10-17",
              Statement: [
                { Effect: "Allow", Action: ["s3:ListBucket", "s3:GetBucketLocation"], Resource: arn },
                { Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: `${arn}/*` },
              ],
            }),
          ),
        },
        parent,
      );
      const key = new aws.iam.AccessKey(name, { user: user.name }, parent);
      new k8s.core.v1.Secret(
        name,
        {
          metadata: { name: secretName, namespace: args.credentialsSecret.namespace },
          type: "Opaque",
          stringData: { AWS_ACCESS_KEY_ID: key.id, AWS_SECRET_ACCESS_KEY: key.secret },
        },
        parent,
      );
    }

    this.bucket = bucket.bucket;
    this.arn = bucket.arn;
    this.storage = bucket.bucket.apply(
      (b): StorageSpec => ({
        storageType: "s3",
        s3: { bucket: b, region, ...(secretName ? { credentialsSecret: { name: secretName } } : {}) },
      }),
    );
    this.registerOutputs({ bucket: this.bucket, arn: this.arn, storage: this.storage });
  }
}

// ── Azure Blob ─────────────────────────────────────────────────────────────────────────────────

export interface AzureBackupStorageArgs {
  resourceGroupName: pulumi.Input<string>;
  location?: pulumi.Input<string>;
  /** 3–24 lower-case letters and digits; default generated from the component's name. */
  accountName?: pulumi.Input<string>;
  /** Default kafka-backups. */
  containerName?: string;
  /** Default Standard_ZRS. */
  skuName?: string;
  /** The account key in a Secret (AZURE_STORAGE_KEY). Without it, use workload identity. */
  credentialsSecret?: CredentialsSecretArgs;
  tags?: Record<string, string>;
}

export class AzureBackupStorage extends pulumi.ComponentResource {
  public readonly accountName: pulumi.Output<string>;
  public readonly containerName: pulumi.Output<string>;
  /** The KafkaBackup `storage` block for this container. */
  public readonly storage: pulumi.Output<StorageSpec>;

  constructor(name: string, args: AzureBackupStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    const component = "AzureBackupStorage";
    requireArg(component, name, "resourceGroupName", args?.resourceGroupName);
    if (args.containerName !== undefined && !/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(args.containerName)) {
      throw new Error(`${component} ${name}: args.containerName "${args.containerName}" is not a valid container name`);
    }
    super("kafka-backup-operator:azure:AzureBackupStorage", name, {}, opts);
    const parent = { parent: this };

    const account = new azureStorage.StorageAccount(
      name,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        accountName: args.accountName,
        kind: "StorageV2",
        sku: { name: args.skuName ?? "Standard_ZRS" },
        allowBlobPublicAccess: false,
        enableHttpsTrafficOnly: true,
        minimumTlsVersion: "TLS1_2",
        allowSharedKeyAccess: args.credentialsSecret !== undefined,
        tags: args.tags,
      },
      parent,
    );
    const container = new azureStorage.BlobContainer(
      name,
      {
        resourceGroupName: args.resourceGroupName,
        accountName: account.name,
        containerName: args.containerName ?? "kafka-backups",
        publicAccess: "None",
      },
      parent,
    );

    let secretName: string | undefined;
    if (args.credentialsSecret) {
      secretName = args.credentialsSecret.name ?? name;
      const keys = azureStorage.listStorageAccountKeysOutput(
        { resourceGroupName: args.resourceGroupName, accountName: account.name },
        { parent: this },
      );
      new k8s.core.v1.Secret(
        name,
        {
          metadata: { name: secretName, namespace: args.credentialsSecret.namespace },
          type: "Opaque",
          stringData: { AZURE_STORAGE_KEY: pulumi.secret(keys.apply((k) => k.keys[0]?.value ?? "")) },
        },
        parent,
      );
    }

    this.accountName = account.name;
    this.containerName = container.name;
    this.storage = pulumi.all([account.name, container.name]).apply(
      ([accountName, containerName]): StorageSpec => ({
        storageType: "azure",
        azure: {
          accountName,
          container: containerName,
          ...(secretName ? { credentialsSecret: { name: secretName } } : { useWorkloadIdentity: true }),
        },
      }),
    );
    this.registerOutputs({ accountName: this.accountName, containerName: this.containerName, storage: this.storage });
  }
}

// ── Google Cloud Storage ───────────────────────────────────────────────────────────────────────

export interface GcsBackupBucketArgs {
  location: pulumi.Input<string>;
  /** Default: generated from the component's name. */
  bucketName?: pulumi.Input<string>;
  /** Delete old versions after this many days (default 30). */
  noncurrentVersionDays?: number;
  forceDestroy?: boolean;
  /**
   * A service account with object admin on this bucket only, its key in a Secret
   * (SERVICE_ACCOUNT_JSON). Without it, grant a Workload Identity account yourself.
   */
  credentialsSecret?: CredentialsSecretArgs & { accountId?: string };
  labels?: Record<string, string>;
}

export class GcsBackupBucket extends pulumi.ComponentResource {
  public readonly bucket: pulumi.Output<string>;
  /** The KafkaBackup `storage` block for this bucket. */
  public readonly storage: pulumi.Output<StorageSpec>;

  constructor(name: string, args: GcsBackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    const component = "GcsBackupBucket";
    requireArg(component, name, "location", args?.location);
    positiveDays(component, name, "noncurrentVersionDays", args.noncurrentVersionDays);
    super("kafka-backup-operator:gcp:GcsBackupBucket", name, {}, opts);
    const parent = { parent: this };

    const bucket = new gcp.storage.Bucket(
      name,
      {
        name: args.bucketName,
        location: args.location,
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        versioning: { enabled: true },
        forceDestroy: args.forceDestroy ?? false,
        lifecycleRules: [
          {
            action: { type: "Delete" },
            condition: { daysSinceNoncurrentTime: args.noncurrentVersionDays ?? 30, withState: "ARCHIVED" },
          },
        ],
        labels: args.labels,
      },
      parent,
    );

    let secretName: string | undefined;
    if (args.credentialsSecret) {
      secretName = args.credentialsSecret.name ?? name;
      const account = new gcp.serviceaccount.Account(
        name,
        { accountId: args.credentialsSecret.accountId ?? name.slice(0, 30), displayName: `kafka-backup-operator ${name}` },
        parent,
      );
      new gcp.storage.BucketIAMMember(
        name,
        { bucket: bucket.name, role: "roles/storage.objectAdmin", member: pulumi.interpolate`serviceAccount:${account.email}` },
        parent,
      );
      const key = new gcp.serviceaccount.Key(name, { serviceAccountId: account.name }, parent);
      new k8s.core.v1.Secret(
        name,
        {
          metadata: { name: secretName, namespace: args.credentialsSecret.namespace },
          type: "Opaque",
          stringData: { SERVICE_ACCOUNT_JSON: key.privateKey.apply((k) => Buffer.from(k, "base64").toString("utf8")) },
        },
        parent,
      );
    }

    this.bucket = bucket.name;
    this.storage = bucket.name.apply(
      (b): StorageSpec => ({
        storageType: "gcs",
        gcs: { bucket: b, ...(secretName ? { credentialsSecret: { name: secretName } } : {}) },
      }),
    );
    this.registerOutputs({ bucket: this.bucket, storage: this.storage });
  }
}
