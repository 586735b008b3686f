// From the CRD storage block (and resolved Secrets) to backend settings and SDK options.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import { AzureBackend } from "../../engine/storage/azure.ts";
import {
  resolveStorageCredentials,
  type SecretKeyRef,
  type SecretReader,
  type StorageSpec,
} from "../../engine/storage/config.ts";
import { StorageConfigError } from "../../engine/storage/errors.ts";
import { FilesystemBackend } from "../../engine/storage/filesystem.ts";
import { GcsBackend } from "../../engine/storage/gcs.ts";
import { checkStorage, createStorageBackend } from "../../engine/storage/open.ts";
import { retryPolicy } from "../../engine/storage/retry.ts";
import { S3Backend, s3ClientConfig } from "../../engine/storage/s3.ts";
import { azureSettings, gcsSettings, s3Settings } from "../../engine/storage/settings.ts";

const s3Base = { bucket: "backups", region: "eu-west-1" };

function configError(field: string, message?: RegExp) {
  return (error: Error) => {
    assert.ok(error instanceof StorageConfigError, `${error.name}: ${error.message}`);
    assert.equal(error.field, field);
    assert.equal(error.reason, "InvalidStorageConfig");
    if (message) assert.match(error.message, message);
    return true;
  };
}

describe("storage config: S3", () => {
  test("fields map to S3Client options; our retries replace the SDK's; checksums only when required", () => {
    const settings = s3Settings(
      { ...s3Base, endpoint: "https://minio.example:9000", pathStyle: true, prefix: "team/", credentialsSecret: { name: "s3" } },
      { accessKeyId: "AKIA1", secretAccessKey: "secret-1" },
    );
    assert.deepEqual(settings, {
      bucket: "backups",
      prefix: "team",
      region: "eu-west-1",
      pathStyle: true,
      endpoint: "https://minio.example:9000",
      credentials: { accessKeyId: "AKIA1", secretAccessKey: "secret-1" },
    });
    const config = s3ClientConfig(settings, retryPolicy({ attemptTimeoutMs: 30_000 }));
    assert.equal(config.region, "eu-west-1");
    assert.equal(config.endpoint, "https://minio.example:9000");
    assert.equal(config.forcePathStyle, true);
    assert.equal(config.maxAttempts, 1);
    assert.equal(config.requestChecksumCalculation, "WHEN_REQUIRED");
    assert.equal(config.responseChecksumValidation, "WHEN_REQUIRED");
    assert.deepEqual(config.credentials, { accessKeyId: "AKIA1", secretAccessKey: "secret-1" });
    assert.deepEqual(config.requestHandler, { connectionTimeout: 10_000 });
  });

  test("no credentialsSecret: no credentials option, so the SDK's default chain (IRSA, instance role) applies", () => {
    const settings = s3Settings(s3Base, undefined);
    assert.equal(settings.credentials, undefined);
    assert.equal(settings.pathStyle, false);
    const config = s3ClientConfig(settings, retryPolicy());
    assert.ok(!("credentials" in config));
    assert.ok(!("endpoint" in config));
  });

  test("plain http needs allowHttp; bad endpoints and missing fields are named", () => {
    assert.throws(
      () => s3Settings({ ...s3Base, endpoint: "http://minio:9000" }, undefined),
      configError("s3.endpoint", /allowHttp/),
    );
    assert.equal(
      s3Settings({ ...s3Base, endpoint: "http://minio:9000", allowHttp: true }, undefined).endpoint,
      "http://minio:9000",
    );
    assert.throws(() => s3Settings({ ...s3Base, endpoint: "minio:9000" }, undefined), configError("s3.endpoint"));
    assert.throws(() => s3Settings({ ...s3Base, endpoint: "ftp://minio" }, undefined), configError("s3.endpoint"));
    assert.throws(() => s3Settings({ ...s3Base, bucket: "" }, undefined), configError("s3.bucket"));
    assert.throws(() => s3Settings({ ...s3Base, region: "" }, undefined), configError("s3.region"));
    assert.throws(
      () => s3Settings({ ...s3Base, credentialsSecret: { name: "s3" } }, undefined),
      configError("s3.credentialsSecret", /s3/),
    );
  });
});

describe("storage config: Azure", () => {
  const base = { container: "backups", accountName: "acct" };

  test("each credential mode, and the default endpoint", () => {
    const modes: [StorageSpec["azure"], object, object][] = [
      [{ ...base, credentialsSecret: { name: "k" } }, { accountKey: "a2V5" }, { mode: "accountKey", accountKey: "a2V5" }],
      [{ ...base, sasTokenSecret: { name: "s" } }, { sasToken: "?sv=1&sig=abc" }, { mode: "sas", sasToken: "sv=1&sig=abc" }],
      [
        { ...base, servicePrincipalSecret: { name: "sp" } },
        { servicePrincipal: { tenantId: "t", clientId: "c", clientSecret: "s" } },
        { mode: "servicePrincipal", tenantId: "t", clientId: "c", clientSecret: "s" },
      ],
      [
        { ...base, connectionStringSecret: { name: "cs" } },
        { connectionString: "AccountName=a;AccountKey=k" },
        { mode: "connectionString", connectionString: "AccountName=a;AccountKey=k" },
      ],
      [{ ...base, useWorkloadIdentity: true }, {}, { mode: "workloadIdentity" }],
      [{ ...base }, {}, { mode: "default" }],
    ];
    for (const [spec, credentials, auth] of modes) {
      const settings = azureSettings(spec ?? base, credentials);
      assert.deepEqual(settings.auth, auth);
      assert.equal(settings.endpoint, "https://acct.blob.core.windows.net");
    }
    assert.equal(
      azureSettings({ ...base, endpoint: "http://127.0.0.1:10000/devstoreaccount1/" }).endpoint,
      "http://127.0.0.1:10000/devstoreaccount1",
    );
  });

  test("credential modes are mutually exclusive, as in the existing operator", () => {
    assert.throws(
      () => azureSettings({ ...base, useWorkloadIdentity: true, credentialsSecret: { name: "k" } }, { accountKey: "x" }),
      configError("azure", /useWorkloadIdentity, credentialsSecret/),
    );
  });

  test("a named Secret that resolved to nothing is an error naming the field", () => {
    assert.throws(
      () => azureSettings({ ...base, sasTokenSecret: { name: "sas" } }, {}),
      configError("azure.sasTokenSecret", /sas/),
    );
    assert.throws(() => azureSettings({ ...base, container: "" }), configError("azure.container"));
  });
});

describe("storage config: GCS", () => {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const key = {
    type: "service_account",
    client_email: "backup@p.iam.gserviceaccount.com",
    private_key: pem,
    private_key_id: "kid-1",
  };

  test("service account, application default credentials, anonymous", () => {
    const sa = gcsSettings({ bucket: "b", credentialsSecret: { name: "g" } }, { serviceAccountJson: JSON.stringify(key) });
    assert.deepEqual(sa.auth, { mode: "serviceAccount", clientEmail: key.client_email, privateKey: pem, privateKeyId: "kid-1" });
    assert.equal(sa.endpoint, "https://storage.googleapis.com");
    assert.deepEqual(gcsSettings({ bucket: "b" }, undefined).auth, { mode: "applicationDefault" });
    const emulator = gcsSettings({ bucket: "b", anonymous: true, endpoint: "http://127.0.0.1:4443/", prefix: "p/" }, undefined);
    assert.deepEqual(emulator, { bucket: "b", prefix: "p", endpoint: "http://127.0.0.1:4443", auth: { mode: "anonymous" } });
  });

  test("only service_account keys are accepted, and a bad key never appears in the error", () => {
    const canary = "kbo-canary-gcs-key-material";
    const bad = [
      `{"type":"service_account","private_key":"${canary}"`, // truncated JSON: the parser's message would quote it
      JSON.stringify({ type: "external_account", credential_source: { url: "http://169.254.169.254/", canary } }),
      JSON.stringify({ type: "service_account", private_key: canary }),
      `"${canary}"`,
    ];
    for (const json of bad) {
      assert.throws(
        () => gcsSettings({ bucket: "b", credentialsSecret: { name: "gcs-key" } }, { serviceAccountJson: json }),
        (error: Error) => {
          assert.ok(error instanceof StorageConfigError, error.message);
          assert.match(error.message, /gcs-key/);
          assert.ok(!inspect(error, { depth: null }).includes(canary), error.message);
          return true;
        },
      );
    }
    assert.throws(
      () =>
        gcsSettings(
          { bucket: "b", anonymous: true, credentialsSecret: { name: "g" } },
          { serviceAccountJson: JSON.stringify(key) },
        ),
      configError("gcs.anonymous"),
    );
  });
});

describe("createStorageBackend", () => {
  test("each storageType gives its backend; pvc is /data/{claimName}/{subPath}", async () => {
    const pvc = await createStorageBackend({ pvc: { claimName: "backup-pvc", subPath: "cluster-a" } });
    assert.ok(pvc instanceof FilesystemBackend);
    assert.equal(pvc.location("x/y"), "file:///data/backup-pvc/cluster-a/x/y");
    assert.equal(
      (await createStorageBackend({ pvc: { claimName: "c" } }, {}, { pvcMountRoot: "/mnt" })).location("k"),
      "file:///mnt/c/k",
    );
    const s3 = await createStorageBackend({ storageType: "s3", s3: { ...s3Base, prefix: "p" } });
    assert.ok(s3 instanceof S3Backend);
    assert.equal(s3.location("k"), "s3://backups/p/k");
    const azure = await createStorageBackend(
      { storageType: "azure", azure: { container: "c", accountName: "a", credentialsSecret: { name: "k" } } },
      { azure: { accountKey: "a2V5" } },
    );
    assert.ok(azure instanceof AzureBackend);
    assert.equal(azure.location("k"), "azure://a/c/k");
    const gcs = await createStorageBackend({ storageType: "gcs", gcs: { bucket: "g", anonymous: true } });
    assert.ok(gcs instanceof GcsBackend);
    assert.equal(gcs.location("k"), "gs://g/k");
  });

  test("a missing sub-block, unknown type or bad claim name is named", async () => {
    await assert.rejects(createStorageBackend({ storageType: "s3" }), configError("s3", /missing/));
    await assert.rejects(createStorageBackend({ storageType: "pvc" }), configError("pvc"));
    await assert.rejects(createStorageBackend({ storageType: "nfs" as "pvc" }), configError("storageType", /nfs/));
    await assert.rejects(createStorageBackend({ pvc: { claimName: "../etc" } }), configError("pvc.claimName"));
    await assert.rejects(createStorageBackend({ pvc: { claimName: "ok", subPath: "../up" } }), /pvc\.subPath/);
  });
});

describe("checkStorage", () => {
  const secrets =
    (values: Record<string, string>): SecretReader =>
    async ({ field, secretName, key }) => {
      const value = values[`${secretName}/${key}`];
      if (value === undefined) throw new Error(`${field}: Secret ${secretName} has no key "${key}"`);
      return value;
    };

  test("refuses what createStorageBackend refuses, with the same field; returns the Secret values read", async () => {
    const bad: StorageSpec[] = [
      { storageType: "s3" },
      { storageType: "s3", s3: { ...s3Base, endpoint: "http://minio:9000" } },
      { storageType: "s3", s3: { ...s3Base, region: "" } },
      {
        storageType: "azure",
        azure: { container: "c", accountName: "a", useWorkloadIdentity: true, sasTokenSecret: { name: "s" } },
      },
      { storageType: "gcs", gcs: { bucket: "b", endpoint: "not a url" } },
      { pvc: { claimName: "../etc" } },
      { pvc: { claimName: "ok", subPath: "sets/.kbo-tmp" } },
      { storageType: "nfs" as "pvc" },
    ];
    const read = secrets({ "s/AZURE_SAS_TOKEN": "sv=1" });
    for (const spec of bad) {
      const built = await createStorageBackend(spec, await resolveStorageCredentials(spec, read)).then(
        () => "built",
        (e: Error) => `${e.name}: ${e.message}`,
      );
      const checked = await checkStorage(spec, read).then(
        () => "built",
        (e: Error) => `${e.name}: ${e.message}`,
      );
      assert.notEqual(checked, "built", JSON.stringify(spec));
      assert.equal(checked, built, JSON.stringify(spec));
    }
    const spec: StorageSpec = { storageType: "s3", s3: { ...s3Base, credentialsSecret: { name: "s3" } } };
    await assert.rejects(checkStorage(spec, secrets({})), /s3\.credentialsSecret\.accessKeyIdKey: Secret s3 has no key/);
    const { credentials } = await checkStorage(
      spec,
      secrets({ "s3/AWS_ACCESS_KEY_ID": "id\n", "s3/AWS_SECRET_ACCESS_KEY": "secret" }),
    );
    assert.deepEqual(credentials, { s3: { accessKeyId: "id", secretAccessKey: "secret" } });
  });

  test("loads no storage SDK (a fresh process; createStorageBackend then loads S3's)", () => {
    const open = new URL("../../engine/storage/open.ts", import.meta.url).href;
    const script = `
      import { registerHooks } from "node:module";
      const loaded = new Set();
      registerHooks({
        resolve(specifier, context, next) {
          const m = /^(@aws-sdk|@azure|@smithy|google-auth-library)/.exec(specifier);
          if (m) loaded.add(m[1]);
          return next(specifier, context);
        },
      });
      const { checkStorage, createStorageBackend } = await import(${JSON.stringify(open)});
      const specs = [
        { storageType: "s3", s3: { bucket: "b", region: "r", credentialsSecret: { name: "s" } } },
        { storageType: "azure", azure: { container: "c", accountName: "a", credentialsSecret: { name: "s" } } },
        { storageType: "gcs", gcs: { bucket: "b", anonymous: true } },
      ];
      const checked = [];
      for (const spec of specs) checked.push(await checkStorage(spec, async () => "value"));
      const afterCheck = [...loaded];
      await createStorageBackend(specs[0], checked[0].credentials);
      console.log(JSON.stringify({ afterCheck, afterCreate: [...loaded] }));
    `;
    const out = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(out.status, 0, out.stderr);
    const { afterCheck, afterCreate } = JSON.parse(out.stdout) as { afterCheck: string[]; afterCreate: string[] };
    assert.deepEqual(afterCheck, []);
    assert.ok(afterCreate.includes("@aws-sdk"), `the probe sees an SDK load: ${afterCreate.join(", ")}`);
  });
});

describe("resolveStorageCredentials", () => {
  function reader(values: Record<string, string>) {
    const reads: SecretKeyRef[] = [];
    return {
      reads,
      read: async (ref: SecretKeyRef) => {
        reads.push(ref);
        const value = values[`${ref.secretName}/${ref.key}`];
        if (value === undefined) throw new Error(`${ref.field}: Secret ${ref.secretName} has no key ${ref.key}`);
        return value;
      },
    };
  }

  test("S3 keys with the CRD's default key names, values trimmed", async () => {
    const r = reader({ "s3/AWS_ACCESS_KEY_ID": "AKIA1\n", "s3/AWS_SECRET_ACCESS_KEY": " secret " });
    const credentials = await resolveStorageCredentials(
      { storageType: "s3", s3: { ...s3Base, credentialsSecret: { name: "s3" } } },
      r.read,
    );
    assert.deepEqual(credentials, { s3: { accessKeyId: "AKIA1", secretAccessKey: "secret" } });
    assert.deepEqual(
      r.reads.map((x) => x.field),
      ["s3.credentialsSecret.accessKeyIdKey", "s3.credentialsSecret.secretAccessKeyKey"],
    );
  });

  test("custom key names; Azure service principal", async () => {
    const r = reader({ "sp/id": "c", "sp/tenant": "t", "sp/AZURE_CLIENT_SECRET": "s" });
    const spec: StorageSpec = {
      storageType: "azure",
      azure: {
        container: "c",
        accountName: "a",
        servicePrincipalSecret: { name: "sp", clientIdKey: "id", tenantIdKey: "tenant" },
      },
    };
    assert.deepEqual(await resolveStorageCredentials(spec, r.read), {
      azure: { servicePrincipal: { clientId: "c", tenantId: "t", clientSecret: "s" } },
    });
  });

  test("modes without a Secret read nothing", async () => {
    const r = reader({});
    for (const spec of [
      { storageType: "s3", s3: s3Base },
      { storageType: "azure", azure: { container: "c", accountName: "a", useWorkloadIdentity: true } },
      { storageType: "gcs", gcs: { bucket: "b" } },
      { pvc: { claimName: "c" } },
    ] as StorageSpec[]) {
      assert.deepEqual(await resolveStorageCredentials(spec, r.read), spec.storageType === "azure" ? { azure: {} } : {});
    }
    assert.equal(r.reads.length, 0);
  });

  test("a missing Secret key fails naming the field", async () => {
    const r = reader({});
    await assert.rejects(
      resolveStorageCredentials({ storageType: "gcs", gcs: { bucket: "b", credentialsSecret: { name: "g" } } }, r.read),
      /gcs\.credentialsSecret\.serviceAccountJsonKey: Secret g has no key SERVICE_ACCOUNT_JSON/,
    );
  });
});
