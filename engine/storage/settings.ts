// A storage block and the Secret values it names, checked field by field and turned into the
// settings a backend is built from, without loading any cloud SDK: a controller checks the
// configuration of 1,000 scheduled backups with this and builds an SDK client only when a run
// starts (each SDK adds 30–40 MiB to a process, and every client more; docs/performance.md).
// Every problem is a StorageConfigError naming the field, as the condition and Event show it.
import { join } from "node:path";
import type {
  AzureCredentials,
  AzureStorageSpec,
  GcsCredentials,
  GcsStorageSpec,
  S3Credentials,
  S3StorageSpec,
  StorageCredentials,
  StorageSpec,
} from "./config.ts";
import { StorageConfigError } from "./errors.ts";
import { checkReservedPrefix, type FilesystemSettings } from "./filesystem.ts";
import { normalizePrefix } from "./keys.ts";

/** What createStorageBackend builds: one backend's settings, checked. */
export type StorageSettings =
  | { type: "pvc"; pvc: FilesystemSettings }
  | { type: "s3"; s3: S3Settings }
  | { type: "azure"; azure: AzureSettings }
  | { type: "gcs"; gcs: GcsSettings };

const claimName = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * The storage block with its resolved Secret values, checked; a PVC's claim is at
 * {pvcMountRoot}/{claimName} (whether it is mounted shows at the first operation, not here).
 */
export function storageSettings(
  spec: StorageSpec,
  credentials: StorageCredentials = {},
  pvcMountRoot = "/data",
): StorageSettings {
  const type = spec.storageType ?? "pvc";
  switch (type) {
    case "pvc": {
      if (!spec.pvc) throw new StorageConfigError("pvc", "storageType is pvc but the pvc block is missing");
      if (!claimName.test(spec.pvc.claimName ?? "")) {
        throw new StorageConfigError(
          "pvc.claimName",
          `${JSON.stringify(spec.pvc.claimName)} is not a PersistentVolumeClaim name`,
        );
      }
      const prefix = normalizePrefix(spec.pvc.subPath, "pvc.subPath");
      checkReservedPrefix(prefix);
      return { type, pvc: { root: join(pvcMountRoot, spec.pvc.claimName), prefix } };
    }
    case "s3":
      if (!spec.s3) throw new StorageConfigError("s3", "storageType is s3 but the s3 block is missing");
      return { type, s3: s3Settings(spec.s3, credentials.s3) };
    case "azure":
      if (!spec.azure) throw new StorageConfigError("azure", "storageType is azure but the azure block is missing");
      return { type, azure: azureSettings(spec.azure, credentials.azure) };
    case "gcs":
      if (!spec.gcs) throw new StorageConfigError("gcs", "storageType is gcs but the gcs block is missing");
      return { type, gcs: gcsSettings(spec.gcs, credentials.gcs) };
    default:
      throw new StorageConfigError("storageType", `${JSON.stringify(type)} is not one of pvc, s3, azure, gcs`);
  }
}

// ── S3 ──

export interface S3Settings {
  bucket: string;
  prefix: string;
  region: string;
  endpoint?: string;
  pathStyle: boolean;
  /** Static keys; absent = the SDK's default credential chain. */
  credentials?: S3Credentials;
}

/** The CRD's s3 block and its resolved Secret into settings; StorageConfigError naming the field otherwise. */
export function s3Settings(spec: S3StorageSpec, credentials: S3Credentials | undefined): S3Settings {
  if (!spec.bucket) throw new StorageConfigError("s3.bucket", "is required");
  if (!spec.region) throw new StorageConfigError("s3.region", "is required");
  const settings: S3Settings = {
    bucket: spec.bucket,
    prefix: normalizePrefix(spec.prefix, "s3.prefix"),
    region: spec.region,
    pathStyle: spec.pathStyle ?? false,
  };
  if (spec.endpoint) {
    settings.endpoint = checkEndpoint(spec.endpoint, spec.allowHttp ?? false);
  }
  if (spec.credentialsSecret) {
    if (!credentials?.accessKeyId || !credentials.secretAccessKey) {
      throw new StorageConfigError(
        "s3.credentialsSecret",
        `Secret ${spec.credentialsSecret.name} gave no access key id or secret key`,
      );
    }
    settings.credentials = credentials;
  }
  return settings;
}

function checkEndpoint(endpoint: string, allowHttp: boolean): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new StorageConfigError("s3.endpoint", `${JSON.stringify(endpoint)} is not a URL`);
  }
  if (url.protocol === "http:" && !allowHttp) {
    throw new StorageConfigError("s3.endpoint", `${endpoint} is plain http; set s3.allowHttp: true to accept it`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new StorageConfigError("s3.endpoint", `${endpoint} must be an http(s) URL`);
  }
  return endpoint;
}

// ── Azure ──

export type AzureAuth =
  | { mode: "connectionString"; connectionString: string }
  | { mode: "accountKey"; accountKey: string }
  | { mode: "sas"; sasToken: string }
  | { mode: "servicePrincipal"; tenantId: string; clientId: string; clientSecret: string }
  /** AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE from the pod's environment (set by the workload identity webhook). */
  | { mode: "workloadIdentity" }
  /** DefaultAzureCredential: environment, workload identity when its variables are set, managed identity. */
  | { mode: "default" };

export interface AzureSettings {
  accountName: string;
  container: string;
  prefix: string;
  /** Blob service URL (for a connection string, the one inside it wins). */
  endpoint: string;
  auth: AzureAuth;
}

/** The CRD's azure block and its resolved Secrets into settings; at most one credential mode may be set. */
export function azureSettings(spec: AzureStorageSpec, credentials: AzureCredentials = {}): AzureSettings {
  if (!spec.container) throw new StorageConfigError("azure.container", "is required");
  if (!spec.accountName) throw new StorageConfigError("azure.accountName", "is required");
  const modes = [
    spec.useWorkloadIdentity ? "useWorkloadIdentity" : undefined,
    spec.servicePrincipalSecret ? "servicePrincipalSecret" : undefined,
    spec.sasTokenSecret ? "sasTokenSecret" : undefined,
    spec.credentialsSecret ? "credentialsSecret" : undefined,
    spec.connectionStringSecret ? "connectionStringSecret" : undefined,
  ].filter((m) => m !== undefined);
  if (modes.length > 1) {
    throw new StorageConfigError("azure", `set at most one credential mode; found ${modes.join(", ")}`);
  }
  let endpoint = spec.endpoint || `https://${spec.accountName}.blob.core.windows.net`;
  try {
    endpoint = new URL(endpoint).toString().replace(/\/+$/, "");
  } catch {
    throw new StorageConfigError("azure.endpoint", `${JSON.stringify(spec.endpoint)} is not a URL`);
  }
  const missing = (field: string, name: string | undefined) =>
    new StorageConfigError(field, `Secret ${name ?? "?"} was not resolved to a value`);
  let auth: AzureAuth;
  switch (modes[0]) {
    case "useWorkloadIdentity":
      auth = { mode: "workloadIdentity" };
      break;
    case "servicePrincipalSecret": {
      const sp = credentials.servicePrincipal;
      if (!sp?.tenantId || !sp.clientId || !sp.clientSecret)
        throw missing("azure.servicePrincipalSecret", spec.servicePrincipalSecret?.name);
      auth = { mode: "servicePrincipal", ...sp };
      break;
    }
    case "sasTokenSecret":
      if (!credentials.sasToken) throw missing("azure.sasTokenSecret", spec.sasTokenSecret?.name);
      auth = { mode: "sas", sasToken: credentials.sasToken.replace(/^\?/, "") };
      break;
    case "credentialsSecret":
      if (!credentials.accountKey) throw missing("azure.credentialsSecret", spec.credentialsSecret?.name);
      auth = { mode: "accountKey", accountKey: credentials.accountKey };
      break;
    case "connectionStringSecret":
      if (!credentials.connectionString) throw missing("azure.connectionStringSecret", spec.connectionStringSecret?.name);
      auth = { mode: "connectionString", connectionString: credentials.connectionString };
      break;
    default:
      auth = { mode: "default" };
  }
  return {
    accountName: spec.accountName,
    container: spec.container,
    prefix: normalizePrefix(spec.prefix, "azure.prefix"),
    endpoint,
    auth,
  };
}

// ── GCS ──

export type GcsAuth =
  | { mode: "serviceAccount"; clientEmail: string; privateKey: string; privateKeyId?: string }
  /** Application default credentials: GKE workload identity / the metadata server, GOOGLE_APPLICATION_CREDENTIALS. */
  | { mode: "applicationDefault" }
  | { mode: "anonymous" };

export interface GcsSettings {
  bucket: string;
  prefix: string;
  /** JSON API root, without a trailing slash. */
  endpoint: string;
  auth: GcsAuth;
}

export const defaultGcsEndpoint = "https://storage.googleapis.com";

/**
 * The CRD's gcs block and its resolved Secret into settings. The key file must be a
 * service-account key: other credential configurations (external_account, ...) can make the
 * process fetch URLs or run programs named in the file, so a Secret must not be able to pick them.
 */
export function gcsSettings(spec: GcsStorageSpec, credentials: GcsCredentials | undefined): GcsSettings {
  if (!spec.bucket) throw new StorageConfigError("gcs.bucket", "is required");
  let endpoint = defaultGcsEndpoint;
  if (spec.endpoint) {
    try {
      endpoint = new URL(spec.endpoint).toString().replace(/\/+$/, "");
    } catch {
      throw new StorageConfigError("gcs.endpoint", `${JSON.stringify(spec.endpoint)} is not a URL`);
    }
  }
  let auth: GcsAuth = spec.anonymous ? { mode: "anonymous" } : { mode: "applicationDefault" };
  if (spec.credentialsSecret) {
    if (spec.anonymous) throw new StorageConfigError("gcs.anonymous", "cannot be combined with gcs.credentialsSecret");
    auth = serviceAccount(spec.credentialsSecret.name, credentials?.serviceAccountJson);
  }
  return { bucket: spec.bucket, prefix: normalizePrefix(spec.prefix, "gcs.prefix"), endpoint, auth };
}

function serviceAccount(secretName: string, json: string | undefined): GcsAuth {
  const field = "gcs.credentialsSecret";
  if (!json) throw new StorageConfigError(field, `Secret ${secretName} was not resolved to a value`);
  let key: Record<string, unknown>;
  try {
    key = JSON.parse(json) as Record<string, unknown>;
  } catch {
    // Not the parser's message: it quotes the text around the error, i.e. the key.
    throw new StorageConfigError(field, `Secret ${secretName}: the service-account key is not valid JSON`);
  }
  if (key === null || typeof key !== "object") throw new StorageConfigError(field, `Secret ${secretName}: not a JSON object`);
  const type = typeof key.type === "string" && /^[a-z_]{1,40}$/.test(key.type) ? key.type : "unknown";
  if (type !== "service_account") {
    throw new StorageConfigError(
      field,
      `Secret ${secretName}: credential type ${type} is not accepted; use a service_account key`,
    );
  }
  if (typeof key.client_email !== "string" || typeof key.private_key !== "string") {
    throw new StorageConfigError(field, `Secret ${secretName}: client_email or private_key missing`);
  }
  return {
    mode: "serviceAccount",
    clientEmail: key.client_email,
    privateKey: key.private_key,
    ...(typeof key.private_key_id === "string" ? { privateKeyId: key.private_key_id } : {}),
  };
}
