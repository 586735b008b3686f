// The CRD `storage` block, field for field as the existing operator (v1.2.1) accepts it
// (research/operator-anchor.md §1.1), plus our optional additions (marked). Secret values are not
// part of it: a controller resolves the referenced Secret keys (resolveStorageCredentials) and
// hands both to createStorageBackend. Optional fields may arrive as null from the API server.

export type StorageType = "pvc" | "s3" | "azure" | "gcs";

export interface StorageSpec {
  /** Default "pvc". The sub-block of the same name must be present. */
  storageType?: StorageType | null;
  pvc?: PvcStorageSpec | null;
  s3?: S3StorageSpec | null;
  azure?: AzureStorageSpec | null;
  gcs?: GcsStorageSpec | null;
}

export interface PvcStorageSpec {
  /** Mounted at /data/{claimName} in the operator's pod. */
  claimName: string;
  /** Keys live below /data/{claimName}/{subPath}. */
  subPath?: string | null;
  /** Accepted for compatibility; creating the claim is the controller's business, not storage's. */
  create?: PvcCreateSpec | null;
}

export interface PvcCreateSpec {
  enabled?: boolean | null;
  storageClassName?: string | null;
  size?: string | null;
  accessModes?: string[] | null;
}

export interface S3StorageSpec {
  bucket: string;
  region: string;
  /** For MinIO, Ceph and other S3-compatible stores; http:// needs allowHttp. */
  endpoint?: string | null;
  /** Path-style addressing (https://host/bucket/key). */
  pathStyle?: boolean | null;
  /** Accept a plain-http endpoint. */
  allowHttp?: boolean | null;
  prefix?: string | null;
  /** Static keys. Required by the existing operator; here optional (addition): absent = the AWS default credential chain (IRSA, web identity, ECS, instance role). */
  credentialsSecret?: S3CredentialsSecret | null;
}

export interface S3CredentialsSecret {
  name: string;
  accessKeyIdKey?: string | null;
  secretAccessKeyKey?: string | null;
}

export interface AzureStorageSpec {
  container: string;
  accountName: string;
  prefix?: string | null;
  /** Blob service URL for sovereign clouds, private endpoints, Azurite (default https://{accountName}.blob.core.windows.net). */
  endpoint?: string | null;
  /** Federated token of the pod's service account (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE from the environment). */
  useWorkloadIdentity?: boolean | null;
  credentialsSecret?: AzureKeySecret | null;
  sasTokenSecret?: AzureSasSecret | null;
  servicePrincipalSecret?: AzureServicePrincipalSecret | null;
  /** Addition: a storage connection string (account key or SAS inside). */
  connectionStringSecret?: AzureConnectionStringSecret | null;
}

export interface AzureKeySecret {
  name: string;
  accountKeyKey?: string | null;
}

export interface AzureSasSecret {
  name: string;
  sasTokenKey?: string | null;
}

export interface AzureServicePrincipalSecret {
  name: string;
  clientIdKey?: string | null;
  tenantIdKey?: string | null;
  clientSecretKey?: string | null;
}

export interface AzureConnectionStringSecret {
  name: string;
  connectionStringKey?: string | null;
}

export interface GcsStorageSpec {
  bucket: string;
  prefix?: string | null;
  /** A service-account key. Required by the existing operator; here optional (addition): absent = application default credentials (GKE workload identity, metadata server, GOOGLE_APPLICATION_CREDENTIALS). */
  credentialsSecret?: GcsCredentialsSecret | null;
  /** Addition: JSON API endpoint (private endpoints, emulators); default https://storage.googleapis.com. */
  endpoint?: string | null;
  /** Addition: send no credentials at all (emulators, public buckets). */
  anonymous?: boolean | null;
}

export interface GcsCredentialsSecret {
  name: string;
  serviceAccountJsonKey?: string | null;
}

/** The Secret keys' default names, as the existing operator's CRD defaults them. */
export const secretKeyDefaults = {
  accessKeyIdKey: "AWS_ACCESS_KEY_ID",
  secretAccessKeyKey: "AWS_SECRET_ACCESS_KEY",
  accountKeyKey: "AZURE_STORAGE_KEY",
  sasTokenKey: "AZURE_SAS_TOKEN",
  clientIdKey: "AZURE_CLIENT_ID",
  tenantIdKey: "AZURE_TENANT_ID",
  clientSecretKey: "AZURE_CLIENT_SECRET",
  connectionStringKey: "AZURE_STORAGE_CONNECTION_STRING",
  serviceAccountJsonKey: "SERVICE_ACCOUNT_JSON",
} as const;

/** Secret values the spec refers to, resolved by the caller. Never logged, never in a message. */
export interface StorageCredentials {
  s3?: S3Credentials;
  azure?: AzureCredentials;
  gcs?: GcsCredentials;
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AzureCredentials {
  accountKey?: string;
  sasToken?: string;
  servicePrincipal?: { tenantId: string; clientId: string; clientSecret: string };
  connectionString?: string;
}

export interface GcsCredentials {
  serviceAccountJson: string;
}

/** One Secret key a spec needs; `field` is the spec path to name in a condition. */
export interface SecretKeyRef {
  field: string;
  secretName: string;
  key: string;
}

/** Reads one key of one Secret (in the resource's namespace); throws naming namespace/name/key when missing. */
export type SecretReader = (ref: SecretKeyRef) => Promise<string>;

/**
 * Reads every Secret value the spec refers to and returns them in the shape createStorageBackend
 * takes. Reads nothing for credential modes without a Secret (default chains, workload identity).
 */
export async function resolveStorageCredentials(spec: StorageSpec, read: SecretReader): Promise<StorageCredentials> {
  const type = spec.storageType ?? "pvc";
  const ref = (field: string, secretName: string, key: string | null | undefined, fallback: string): SecretKeyRef => ({
    field,
    secretName,
    key: key || fallback,
  });
  if (type === "s3" && spec.s3?.credentialsSecret) {
    const secret = spec.s3.credentialsSecret;
    const [accessKeyId, secretAccessKey] = await Promise.all([
      read(ref("s3.credentialsSecret.accessKeyIdKey", secret.name, secret.accessKeyIdKey, secretKeyDefaults.accessKeyIdKey)),
      read(
        ref(
          "s3.credentialsSecret.secretAccessKeyKey",
          secret.name,
          secret.secretAccessKeyKey,
          secretKeyDefaults.secretAccessKeyKey,
        ),
      ),
    ]);
    return { s3: { accessKeyId: accessKeyId.trim(), secretAccessKey: secretAccessKey.trim() } };
  }
  if (type === "azure" && spec.azure) {
    const { credentialsSecret: key, sasTokenSecret: sas, servicePrincipalSecret: sp, connectionStringSecret: cs } = spec.azure;
    const azure: AzureCredentials = {};
    if (key) {
      azure.accountKey = (
        await read(ref("azure.credentialsSecret.accountKeyKey", key.name, key.accountKeyKey, secretKeyDefaults.accountKeyKey))
      ).trim();
    }
    if (sas) {
      azure.sasToken = (
        await read(ref("azure.sasTokenSecret.sasTokenKey", sas.name, sas.sasTokenKey, secretKeyDefaults.sasTokenKey))
      ).trim();
    }
    if (sp) {
      const [clientId, tenantId, clientSecret] = await Promise.all([
        read(ref("azure.servicePrincipalSecret.clientIdKey", sp.name, sp.clientIdKey, secretKeyDefaults.clientIdKey)),
        read(ref("azure.servicePrincipalSecret.tenantIdKey", sp.name, sp.tenantIdKey, secretKeyDefaults.tenantIdKey)),
        read(ref("azure.servicePrincipalSecret.clientSecretKey", sp.name, sp.clientSecretKey, secretKeyDefaults.clientSecretKey)),
      ]);
      azure.servicePrincipal = { clientId: clientId.trim(), tenantId: tenantId.trim(), clientSecret: clientSecret.trim() };
    }
    if (cs) {
      azure.connectionString = (
        await read(
          ref(
            "azure.connectionStringSecret.connectionStringKey",
            cs.name,
            cs.connectionStringKey,
            secretKeyDefaults.connectionStringKey,
          ),
        )
      ).trim();
    }
    return { azure };
  }
  if (type === "gcs" && spec.gcs?.credentialsSecret) {
    const secret = spec.gcs.credentialsSecret;
    const json = await read(
      ref(
        "gcs.credentialsSecret.serviceAccountJsonKey",
        secret.name,
        secret.serviceAccountJsonKey,
        secretKeyDefaults.serviceAccountJsonKey,
      ),
    );
    return { gcs: { serviceAccountJson: json } };
  }
  return {};
}
