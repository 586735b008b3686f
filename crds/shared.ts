// Blocks every kind shares: the Kafka cluster connection, the storage location, secret
// references, rate limiting, circuit breaker, execution (in process or as a Job), conditions.
// Field names, types and defaults are the existing operator's (research/operator-anchor.md §1.1);
// additions are marked "Addition" in their description.
import {
  array,
  boolean,
  dateTime,
  int32,
  integer,
  intOrString,
  map,
  named,
  object,
  rule,
  type Schema,
  string,
} from "./openapi.ts";

// Patterns the API server checks (Go RE2 syntax).
export const patterns = {
  /** A DNS-1123 subdomain: Secret, PVC, ServiceAccount names. */
  dnsSubdomain: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
  /** A DNS-1123 label: the names of our own resources. */
  dnsLabel: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
  /** A key inside a Secret or ConfigMap. */
  secretKey: "^[-._a-zA-Z0-9]+$",
  /** host:port, IPv6 in brackets. */
  hostPort: "^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9]([-A-Za-z0-9._]*[A-Za-z0-9])?):[0-9]{1,5}$",
  /** A Kafka topic name. */
  topic: "^[a-zA-Z0-9._-]+$",
  /** An IANA time zone name such as Europe/Berlin, America/Argentina/Buenos_Aires, UTC, Etc/GMT+5. */
  timeZone: "^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$",
  /** A Kubernetes quantity (CPU, memory). */
  quantity:
    "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$",
} as const;

// CEL: a cron expression of 5 (min hour dom mon dow), 6 (sec first) or 7 fields (sec ... year,
// the existing operator's form), or a macro. The controller parses it for real; this catches
// the common mistakes at the door.
export const cronRule =
  "self.matches('^\\\\s*(@(yearly|annually|monthly|weekly|daily|hourly)|[0-9A-Za-z*/,?#-]+(\\\\s+[0-9A-Za-z*/,?#-]+){4,6})\\\\s*$')";

/**
 * A relative object-store prefix or sub-path: no leading `/`, no `..` or `.` segment, no empty
 * segment inside (`a//b`; trailing slashes are fine), no control character — what the storage
 * layer refuses at run time (engine/storage/keys.ts), refused at the door.
 */
export function relativePath(field: string, description: string): Schema {
  return string(description, {
    maxLength: 1024,
    rules: [
      rule("!self.startsWith('/')", `${field} must be a relative path (no leading '/')`),
      rule("!self.matches('(^|/)\\\\.\\\\.(/|$)')", `${field} must not contain '..' segments`),
      rule("!self.matches('(^|/)\\\\.(/|$)') && !self.matches('//[^/]')", `${field} must not contain '.' or empty segments`),
      rule("!self.matches('[\\\\x00-\\\\x1f\\\\x7f]')", `${field} must not contain control characters`),
    ],
  });
}

export function secretName(what: string): Schema {
  return string(`Name of the Secret (in the resource's namespace) that holds ${what}.`, {
    minLength: 1,
    maxLength: 253,
    pattern: patterns.dnsSubdomain,
  });
}

export function secretKey(description: string, fallback?: string): Schema {
  return string(description, {
    minLength: 1,
    maxLength: 253,
    pattern: patterns.secretKey,
    ...(fallback !== undefined ? { default: fallback } : {}),
  });
}

export function resourceName(description: string): Schema {
  return string(description, { minLength: 1, maxLength: 253, pattern: patterns.dnsSubdomain });
}

export const cronSchedule = (what: string) =>
  string(
    `Cron schedule for ${what}. Accepts 5 fields (min hour day-of-month month day-of-week), 6 fields (seconds first) or the existing operator's 7 fields (sec min hour day-of-month month day-of-week year), e.g. "0 0 2 * * * *" = daily at 02:00; also @daily, @hourly, @weekly, @monthly, @yearly. Evaluated in timeZone (default UTC). Unset: run once.`,
    {
      maxLength: 128,
      rules: [
        rule(
          cronRule,
          'schedule must be a cron expression of 5, 6 or 7 space-separated fields (e.g. "0 2 * * *" or "0 0 2 * * * *") or @daily/@hourly/@weekly/@monthly/@yearly',
        ),
      ],
    },
  );

export const timeZone = (what: string) =>
  string(
    `Addition: IANA time zone in which ${what} is evaluated, e.g. "Europe/Berlin". Default UTC (the existing operator is UTC only).`,
    { maxLength: 64, pattern: patterns.timeZone },
  );

// ---- Kafka cluster ----------------------------------------------------------------------------

const securityProtocols = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];
// The existing operator matches the protocol and the mechanism case-insensitively, so lower-case
// spellings in existing manifests are accepted; the Rust tool's own YAML writes SCRAM-SHA512.
const securityProtocolValues = [...securityProtocols, ...securityProtocols.map((p) => p.toLowerCase())];
const saslMechanisms = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"];
const saslMechanismValues = [...saslMechanisms, "SCRAM-SHA256", "SCRAM-SHA512", ...saslMechanisms.map((m) => m.toLowerCase())];

export const tlsSecret = named(
  "TlsSecretRef",
  object(
    "TLS material from one Secret: the CA certificate and, for mutual TLS, the client certificate and key. With caSecret also set, the CA comes from caSecret (Strimzi keeps them apart).",
    {
      name: secretName("the TLS material"),
      caKey: secretKey("Key of the CA certificate (PEM) in the Secret.", "ca.crt"),
      certKey: secretKey("Key of the client certificate (PEM) in the Secret, for mutual TLS. Needs keyKey."),
      keyKey: secretKey("Key of the client private key (PEM) in the Secret, for mutual TLS. Needs certKey."),
    },
    {
      required: ["name"],
      rules: [
        rule(
          "has(self.certKey) == has(self.keyKey)",
          "kafkaCluster.tlsSecret: certKey and keyKey go together (a client certificate needs its key)",
        ),
      ],
    },
  ),
);

export const caSecret = named(
  "CaSecretRef",
  object(
    "A separate Secret holding the cluster CA certificate (e.g. Strimzi's <cluster>-cluster-ca-cert). Overrides tlsSecret.caKey.",
    {
      name: secretName("the CA certificate"),
      caKey: secretKey("Key of the CA certificate (PEM) in the Secret.", "ca.crt"),
    },
    { required: ["name"] },
  ),
);

export const saslSecret = named(
  "SaslSecretRef",
  object(
    "SASL credentials from a Secret. Needed when securityProtocol is SASL_PLAINTEXT or SASL_SSL.",
    {
      name: secretName("the SASL credentials"),
      mechanism: string(
        "SASL mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER (SCRAM-SHA256/SCRAM-SHA512 and lower case are accepted as written by existing manifests).",
        { enum: saslMechanismValues },
      ),
      usernameKey: secretKey("Key of the user name in the Secret.", "username"),
      passwordKey: secretKey("Key of the password in the Secret.", "password"),
      tokenKey: secretKey(
        "Addition, OAUTHBEARER only: key of the bearer token in the Secret; it is read again for every new connection, so a rotated token is picked up.",
      ),
    },
    {
      required: ["name", "mechanism"],
      rules: [
        rule(
          "!(self.mechanism in ['OAUTHBEARER', 'oauthbearer']) || has(self.tokenKey)",
          "kafkaCluster.saslSecret.tokenKey is required when mechanism is OAUTHBEARER",
          { fieldPath: ".tokenKey" },
        ),
      ],
    },
  ),
);

export const connection = named(
  "ConnectionSpec",
  object("TCP tuning of the connections to the brokers.", {
    tcpKeepalive: boolean("Enable TCP keep-alive on broker connections.", { default: true }),
    keepaliveTimeSecs: integer("Idle seconds before the first keep-alive probe.", { default: 60, minimum: 1, maximum: 86400 }),
    keepaliveIntervalSecs: integer("Seconds between keep-alive probes.", { default: 20, minimum: 1, maximum: 86400 }),
    tcpNodelay: boolean("Disable Nagle's algorithm (TCP_NODELAY).", { default: true }),
    connectionsPerBroker: integer("Connections opened per broker.", { default: 4, minimum: 1, maximum: 64 }),
  }),
);

export const kafkaCluster = named(
  "KafkaClusterSpec",
  object(
    "How to reach the Kafka cluster: bootstrap servers, security protocol and the Secrets holding TLS and SASL credentials.",
    {
      bootstrapServers: array(
        "Bootstrap brokers as host:port, e.g. my-cluster-kafka-bootstrap.kafka.svc:9093.",
        string("A broker as host:port.", { maxLength: 260, pattern: patterns.hostPort }),
        { minItems: 1, maxItems: 64 },
      ),
      securityProtocol: string("Security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.", {
        default: "PLAINTEXT",
        enum: securityProtocolValues,
      }),
      tlsSecret,
      caSecret,
      saslSecret,
      connection,
    },
    {
      required: ["bootstrapServers"],
      rules: [
        rule(
          "!(self.securityProtocol in ['SSL', 'SASL_SSL', 'ssl', 'sasl_ssl']) || has(self.tlsSecret) || has(self.caSecret)",
          "kafkaCluster.tlsSecret or kafkaCluster.caSecret is required when securityProtocol is SSL or SASL_SSL",
          { fieldPath: ".tlsSecret" },
        ),
        rule(
          "!(self.securityProtocol in ['SASL_PLAINTEXT', 'SASL_SSL', 'sasl_plaintext', 'sasl_ssl']) || has(self.saslSecret)",
          "kafkaCluster.saslSecret is required when securityProtocol is SASL_PLAINTEXT or SASL_SSL",
          { fieldPath: ".saslSecret" },
        ),
      ],
    },
  ),
);

// ---- Storage ------------------------------------------------------------------------------------

const pvcCreate = named(
  "PvcCreateSpec",
  object("Create the PersistentVolumeClaim when it does not exist.", {
    enabled: boolean("Create the claim if missing.", { default: false }),
    storageClassName: string("StorageClass of the created claim; unset = the cluster default.", {
      maxLength: 253,
      pattern: patterns.dnsSubdomain,
    }),
    size: string('Requested size of the created claim, e.g. "100Gi".', {
      default: "100Gi",
      maxLength: 64,
      pattern: patterns.quantity,
    }),
    accessModes: array(
      "Access modes of the created claim.",
      string("An access mode.", { enum: ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"] }),
      { default: ["ReadWriteOnce"], maxItems: 4 },
    ),
  }),
);

const pvc = named(
  "PvcStorageSpec",
  object(
    "A PersistentVolumeClaim. In a pod it is mounted at /data/{claimName}; out of cluster the controller maps it to a local folder (docs/storage.md).",
    {
      claimName: resourceName("Name of the PersistentVolumeClaim (in the resource's namespace)."),
      subPath: relativePath("pvc.subPath", "Folder inside the claim under which backups are kept, e.g. backups."),
      create: pvcCreate,
    },
    { required: ["claimName"] },
  ),
);

const s3 = named(
  "S3StorageSpec",
  object(
    "An S3 bucket (AWS or an S3-compatible store such as MinIO or Ceph).",
    {
      bucket: string("Bucket name.", { minLength: 3, maxLength: 255, pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$" }),
      region: string("Region, e.g. eu-west-1 (any value for most S3-compatible stores).", { minLength: 1, maxLength: 64 }),
      endpoint: string("Endpoint URL for S3-compatible stores, e.g. http://minio.storage.svc:9000 (http:// needs allowHttp).", {
        maxLength: 2048,
        pattern: "^https?://[^\\s]+$",
      }),
      pathStyle: boolean("Path-style addressing (https://host/bucket/key), needed by most S3-compatible stores."),
      allowHttp: boolean("Allow a plain-http endpoint."),
      prefix: relativePath("s3.prefix", "Key prefix under which backups are written, e.g. backups/prod."),
      credentialsSecret: named(
        "S3CredentialsSecretRef",
        object(
          "Static access keys from a Secret. Required by the existing operator; here optional: unset = the AWS default credential chain (IRSA, web identity, ECS, instance role).",
          {
            name: secretName("the access keys"),
            accessKeyIdKey: secretKey("Key of the access key ID in the Secret.", "AWS_ACCESS_KEY_ID"),
            secretAccessKeyKey: secretKey("Key of the secret access key in the Secret.", "AWS_SECRET_ACCESS_KEY"),
          },
          { required: ["name"] },
        ),
      ),
    },
    {
      required: ["bucket", "region"],
      rules: [
        rule(
          "!has(self.endpoint) || !self.endpoint.startsWith('http://') || (has(self.allowHttp) && self.allowHttp)",
          "s3.allowHttp must be true for an http:// endpoint",
          { fieldPath: ".allowHttp" },
        ),
      ],
    },
  ),
);

const azure = named(
  "AzureStorageSpec",
  object(
    "An Azure Blob Storage container. Authentication: at most one of useWorkloadIdentity, credentialsSecret (account key), sasTokenSecret, servicePrincipalSecret, connectionStringSecret; none = the default Azure credential chain.",
    {
      container: string("Container name.", { minLength: 3, maxLength: 63, pattern: "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$" }),
      accountName: string("Storage account name.", { minLength: 1, maxLength: 64, pattern: "^[a-z0-9]+$" }),
      prefix: relativePath("azure.prefix", "Blob name prefix under which backups are written."),
      endpoint: string(
        "Blob service URL for sovereign clouds, private endpoints or Azurite; default https://{accountName}.blob.core.windows.net.",
        { maxLength: 2048, pattern: "^https?://[^\\s]+$" },
      ),
      useWorkloadIdentity: boolean(
        "Authenticate with Azure Workload Identity (AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE from the pod's environment).",
        { default: false },
      ),
      credentialsSecret: named(
        "AzureKeySecretRef",
        object(
          "Storage account key from a Secret.",
          {
            name: secretName("the account key"),
            accountKeyKey: secretKey("Key of the account key in the Secret.", "AZURE_STORAGE_KEY"),
          },
          { required: ["name"] },
        ),
      ),
      sasTokenSecret: named(
        "AzureSasSecretRef",
        object(
          "SAS token from a Secret.",
          { name: secretName("the SAS token"), sasTokenKey: secretKey("Key of the SAS token in the Secret.", "AZURE_SAS_TOKEN") },
          { required: ["name"] },
        ),
      ),
      servicePrincipalSecret: named(
        "AzureServicePrincipalSecretRef",
        object(
          "Service principal (client secret) from a Secret.",
          {
            name: secretName("the service principal"),
            clientIdKey: secretKey("Key of the client ID in the Secret.", "AZURE_CLIENT_ID"),
            tenantIdKey: secretKey("Key of the tenant ID in the Secret.", "AZURE_TENANT_ID"),
            clientSecretKey: secretKey("Key of the client secret in the Secret.", "AZURE_CLIENT_SECRET"),
          },
          { required: ["name"] },
        ),
      ),
      connectionStringSecret: named(
        "AzureConnectionStringSecretRef",
        object(
          "Addition: a storage connection string (with an account key or SAS inside) from a Secret.",
          {
            name: secretName("the connection string"),
            connectionStringKey: secretKey("Key of the connection string in the Secret.", "AZURE_STORAGE_CONNECTION_STRING"),
          },
          { required: ["name"] },
        ),
      ),
    },
    {
      required: ["container", "accountName"],
      rules: [
        rule(
          "[has(self.useWorkloadIdentity) && self.useWorkloadIdentity, has(self.credentialsSecret), has(self.sasTokenSecret), has(self.servicePrincipalSecret), has(self.connectionStringSecret)].filter(x, x).size() <= 1",
          "azure: useWorkloadIdentity, credentialsSecret, sasTokenSecret, servicePrincipalSecret and connectionStringSecret are mutually exclusive; set at most one",
        ),
      ],
    },
  ),
);

const gcs = named(
  "GcsStorageSpec",
  object(
    "A Google Cloud Storage bucket.",
    {
      bucket: string("Bucket name.", { minLength: 3, maxLength: 222, pattern: "^[a-z0-9][a-z0-9._-]*[a-z0-9]$" }),
      prefix: relativePath("gcs.prefix", "Object name prefix under which backups are written."),
      credentialsSecret: named(
        "GcsCredentialsSecretRef",
        object(
          "Service-account key (JSON) from a Secret. Required by the existing operator; here optional: unset = application default credentials (GKE Workload Identity, metadata server).",
          {
            name: secretName("the service-account key"),
            serviceAccountJsonKey: secretKey("Key of the service-account JSON in the Secret.", "SERVICE_ACCOUNT_JSON"),
          },
          { required: ["name"] },
        ),
      ),
      endpoint: string(
        "Addition: JSON API endpoint for private endpoints or emulators; default https://storage.googleapis.com.",
        {
          maxLength: 2048,
          pattern: "^https?://[^\\s]+$",
        },
      ),
      anonymous: boolean("Addition: send no credentials at all (emulators, public buckets)."),
    },
    {
      required: ["bucket"],
      rules: [
        rule(
          "!(has(self.anonymous) && self.anonymous && has(self.credentialsSecret))",
          "gcs: anonymous and credentialsSecret are mutually exclusive",
          { fieldPath: ".anonymous" },
        ),
      ],
    },
  ),
);

export const storageTypes = ["pvc", "s3", "azure", "gcs"] as const;

export const storage = named(
  "StorageSpec",
  object(
    "Where backups live: storageType names the backend and the sub-block of the same name configures it (exactly one sub-block).",
    {
      storageType: string("Storage backend: pvc, s3, azure or gcs. The sub-block of the same name must be set.", {
        default: "pvc",
        enum: storageTypes,
      }),
      pvc,
      s3,
      azure,
      gcs,
    },
    {
      rules: [
        rule(
          "self.storageType == 'pvc' ? has(self.pvc) : self.storageType == 's3' ? has(self.s3) : self.storageType == 'azure' ? has(self.azure) : has(self.gcs)",
          "storage: the sub-block named by storageType is required",
          {
            messageExpression: "'storage.' + self.storageType + ' is required when storage.storageType is ' + self.storageType",
          },
        ),
        rule(
          "[has(self.pvc), has(self.s3), has(self.azure), has(self.gcs)].filter(x, x).size() <= 1",
          "storage: set exactly one of pvc, s3, azure, gcs (the one named by storageType)",
        ),
      ],
    },
  ),
);

// ---- Throttling, resilience ---------------------------------------------------------------------

export const rateLimiting = named(
  "RateLimitingSpec",
  object("Throughput limits (0 = unlimited).", {
    recordsPerSec: integer("Maximum records per second (0 = unlimited).", { default: 0, minimum: 0 }),
    bytesPerSec: integer("Maximum bytes per second (0 = unlimited).", { default: 0, minimum: 0 }),
    maxConcurrentPartitions: integer("Partitions processed at the same time.", { default: 4, minimum: 1, maximum: 10000 }),
  }),
);

export const circuitBreaker = named(
  "CircuitBreakerSpec",
  object(
    "Circuit breaker around Kafka and storage calls: after failureThreshold consecutive failures calls stop for resetTimeoutSecs, then successThreshold successes close it again.",
    {
      enabled: boolean("Enable the circuit breaker.", { default: true }),
      failureThreshold: int32("Consecutive failures that open the circuit.", { default: 5, minimum: 1, maximum: 10000 }),
      resetTimeoutSecs: integer("Seconds the circuit stays open before a trial call.", {
        default: 60,
        minimum: 1,
        maximum: 86400,
      }),
      successThreshold: int32("Successful trial calls that close the circuit.", { default: 3, minimum: 1, maximum: 10000 }),
      operationTimeoutMs: integer("Timeout of one operation in milliseconds.", { default: 30000, minimum: 1, maximum: 3600000 }),
    },
  ),
);

// ---- Execution (issue 13) ---------------------------------------------------------------------

const resourceList = (what: string) =>
  map(`${what}, e.g. cpu: "2", memory: 2Gi.`, intOrString("A quantity.", { pattern: patterns.quantity }), {
    maxProperties: 16,
  });

export const execution = named(
  "ExecutionSpec",
  object(
    "Addition: where the work runs. inProcess (default) runs it inside the controller; job runs it as a Kubernetes Indexed Job of `workers` pods, each owning a share of the partitions.",
    {
      mode: string("inProcess or job.", { default: "inProcess", enum: ["inProcess", "job"] }),
      workers: int32("Worker pods in job mode (Indexed Job completions = parallelism).", {
        default: 1,
        minimum: 1,
        maximum: 256,
      }),
      resources: named(
        "WorkerResources",
        object("Compute resources of each worker pod.", {
          limits: resourceList("Resource limits"),
          requests: resourceList("Resource requests"),
        }),
      ),
      nodeSelector: map("Node labels a worker pod must match.", string("Label value.", { maxLength: 63 }), {
        maxProperties: 64,
      }),
      tolerations: array(
        "Tolerations of the worker pods.",
        named(
          "Toleration",
          object("A toleration, as in a pod spec.", {
            key: string("Taint key; empty with operator Exists matches all taints.", { maxLength: 316 }),
            operator: string("Exists or Equal.", { enum: ["Exists", "Equal"] }),
            value: string("Taint value (operator Equal).", { maxLength: 63 }),
            effect: string("Taint effect; empty matches all effects.", {
              enum: ["", "NoSchedule", "PreferNoSchedule", "NoExecute"],
            }),
            tolerationSeconds: integer("Seconds a NoExecute taint is tolerated.", { minimum: 0 }),
          }),
        ),
        { maxItems: 64 },
      ),
      serviceAccountName: resourceName("ServiceAccount of the worker pods; default: the namespace's default ServiceAccount."),
      activeDeadlineSeconds: integer("Seconds after which the Job is stopped and the run fails.", { minimum: 1 }),
    },
  ),
);

// ---- Status building blocks -------------------------------------------------------------------

export const condition = named(
  "Condition",
  object(
    "A status condition. lastTransitionTime changes only when status changes.",
    {
      type: string("Condition type, e.g. Ready.", { maxLength: 316 }),
      status: string("True, False or Unknown.", { enum: ["True", "False", "Unknown"] }),
      reason: string("Machine-readable reason in CamelCase, e.g. BackupSucceeded, SecretNotFound.", { maxLength: 1024 }),
      message: string("Human-readable message naming the object or field to fix.", { maxLength: 32768 }),
      lastTransitionTime: dateTime("When status last changed."),
      observedGeneration: integer("The metadata.generation this condition was computed from.", { minimum: 0 }),
    },
    { required: ["type", "status", "lastTransitionTime"] },
  ),
);

export const conditions = array("Conditions; Ready summarises the resource.", condition, {
  listType: "map",
  listMapKeys: ["type"],
});

export const observedGeneration = integer("The metadata.generation the controller last acted on.", { minimum: 0 });

export const phase = (description: string, values: readonly string[]) =>
  string(`${description} One of ${values.join(", ")}.`, { enum: values });

/** Where a referenced backup lives: a KafkaBackup by name, or storage given directly. */
export function backupRef(description: string): Schema {
  return named(
    "BackupRef",
    object(
      description,
      {
        name: string(
          "Name of the KafkaBackup to read from. May be empty when storage is given directly (the existing operator requires the key).",
          { maxLength: 253, pattern: "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$" },
        ),
        namespace: string("Namespace of the KafkaBackup; default: the resource's own namespace.", {
          maxLength: 63,
          pattern: patterns.dnsLabel,
        }),
        backupId: string(
          "The backup set to use, e.g. my-backup-20251210-020000. Default: the KafkaBackup's latest completed backup (its status.backupId), or with direct storage the newest complete backup set under the prefix.",
          { maxLength: 253, pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$" },
        ),
        storage,
      },
      {
        rules: [
          rule("(has(self.name) && self.name != '') || has(self.storage)", "backupRef.name or backupRef.storage is required", {
            fieldPath: ".name",
          }),
        ],
      },
    ),
  );
}
