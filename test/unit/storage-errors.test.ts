// Error typing per backend, and the redaction that keeps credentials out of messages and causes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import { classifyAzureError } from "../../engine/storage/azure.ts";
import { describeCause, isNetworkError, Redactor, redactedCause } from "../../engine/storage/errors.ts";
import { classifyFsError } from "../../engine/storage/filesystem.ts";
import { classifyGcsError, GcsAuthError, GcsHttpError } from "../../engine/storage/gcs.ts";
import { Operations } from "../../engine/storage/operations.ts";
import { classifyS3Error } from "../../engine/storage/s3.ts";
import { IdleStreamError } from "../../engine/storage/transfer.ts";

const s3 = (Code: string, httpStatusCode?: number) =>
  Object.assign(new Error(Code), { name: Code, Code, $metadata: { httpStatusCode } });
const azure = (statusCode: number | undefined, code?: string, name = "RestError") =>
  Object.assign(new Error(code ?? ""), { name, code, statusCode });
const errno = (code: string) => Object.assign(new Error(code), { code });

describe("error classification", () => {
  test("S3", () => {
    assert.equal(classifyS3Error(s3("NoSuchKey", 404)), "notFound");
    assert.equal(classifyS3Error(s3("NotFound", 404)), "notFound");
    assert.equal(classifyS3Error(s3("NoSuchBucket", 404)), "notFound");
    assert.equal(classifyS3Error(s3("PreconditionFailed", 412)), "precondition");
    assert.equal(classifyS3Error(s3("ConditionalRequestConflict", 409)), "transient");
    assert.equal(classifyS3Error(s3("SignatureDoesNotMatch", 403)), "accessDenied");
    assert.equal(classifyS3Error(s3("InvalidAccessKeyId", 403)), "accessDenied");
    assert.equal(classifyS3Error(s3("Unknown", 403)), "accessDenied");
    assert.equal(classifyS3Error(s3("CredentialsProviderError")), "accessDenied");
    assert.equal(classifyS3Error(s3("SlowDown", 503)), "transient");
    assert.equal(classifyS3Error(s3("InternalError", 500)), "transient");
    assert.equal(classifyS3Error(errno("ECONNRESET")), "transient");
    assert.equal(classifyS3Error(s3("InvalidRange", 416)), "failed");
  });

  test("Azure", () => {
    assert.equal(classifyAzureError(azure(404, "BlobNotFound")), "notFound");
    assert.equal(classifyAzureError(azure(404)), "notFound");
    assert.equal(classifyAzureError(azure(409, "BlobAlreadyExists")), "precondition");
    assert.equal(classifyAzureError(azure(412, "ConditionNotMet")), "precondition");
    assert.equal(classifyAzureError(azure(403, "AuthorizationFailure")), "accessDenied");
    assert.equal(classifyAzureError(azure(undefined, undefined, "AuthenticationError")), "accessDenied");
    assert.equal(classifyAzureError(azure(undefined, undefined, "CredentialUnavailableError")), "accessDenied");
    assert.equal(classifyAzureError(azure(503, "ServerBusy")), "transient");
    assert.equal(classifyAzureError(azure(undefined, "REQUEST_SEND_ERROR")), "transient");
    assert.equal(classifyAzureError(azure(409, "LeaseIdMissing")), "failed");
  });

  test("GCS", () => {
    assert.equal(classifyGcsError(new GcsHttpError(404, "Not Found")), "notFound");
    assert.equal(classifyGcsError(new GcsHttpError(412, "Precondition failed")), "precondition");
    assert.equal(classifyGcsError(new GcsHttpError(403, "forbidden")), "accessDenied");
    assert.equal(classifyGcsError(new GcsHttpError(429, "rate")), "transient");
    assert.equal(classifyGcsError(new GcsHttpError(400, "bad")), "failed");
    const tokenRefused = new GcsAuthError("invalid_grant", {
      cause: Object.assign(new Error("invalid_grant"), { response: { status: 400 } }),
    });
    assert.equal(classifyGcsError(tokenRefused), "accessDenied");
    const noAdc = new GcsAuthError("Could not load the default credentials", {
      cause: new Error("Could not load the default credentials"),
    });
    assert.equal(classifyGcsError(noAdc), "accessDenied");
    const tokenEndpointDown = new GcsAuthError("x", { cause: errno("ECONNREFUSED") });
    assert.equal(classifyGcsError(tokenEndpointDown), "transient");
    assert.equal(classifyGcsError(Object.assign(new TypeError("fetch failed"), { cause: errno("ECONNRESET") })), "transient");
  });

  test("filesystem", () => {
    assert.equal(classifyFsError(errno("ENOENT")), "notFound");
    assert.equal(classifyFsError(errno("EACCES")), "accessDenied");
    assert.equal(classifyFsError(errno("EROFS")), "accessDenied");
    assert.equal(classifyFsError(errno("EBUSY")), "transient");
    assert.equal(classifyFsError(errno("ENOSPC")), "failed");
  });

  test("a stalled or short download is transient on every backend", () => {
    const stalled = new IdleStreamError("no data for 60000 ms");
    assert.equal(classifyS3Error(stalled), "transient");
    assert.equal(classifyAzureError(stalled), "transient");
    assert.equal(classifyGcsError(stalled), "transient");
    assert.equal(classifyFsError(stalled), "transient");
  });

  test("network errors are recognised through their causes", () => {
    assert.ok(isNetworkError(Object.assign(new TypeError("fetch failed"), { cause: errno("UND_ERR_SOCKET") })));
    assert.ok(isNetworkError(new DOMException("timed out", "TimeoutError")));
    assert.ok(!isNetworkError(new Error("The specified key does not exist.")));
  });
});

describe("redaction", () => {
  const secret = "kbo-canary-Zx9/+q==";
  const pem =
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\nabcdefghijklmnopqrstuvwxyz012345\n-----END PRIVATE KEY-----\n";
  const redactor = new Redactor([secret, pem, undefined, "short"]);

  test("known secrets go in every form they can be printed in", () => {
    for (const text of [
      `key ${secret} here`,
      `url ?x=${encodeURIComponent(secret)}`,
      `json ${JSON.stringify({ k: secret })}`,
      `pem ${pem}`,
      `one line of it: abcdefghijklmnopqrstuvwxyz012345`,
      `escaped ${JSON.stringify(pem)}`,
    ]) {
      const out = redactor.redact(text);
      assert.ok(!out.includes(secret) && !out.includes("abcdefghijklmnopqrstuvwxyz012345") && !out.includes("MIIEvQ"), out);
    }
    assert.equal(redactor.redact("a short word"), "a short word");
  });

  test("credential-shaped values go whatever they are", () => {
    const out = new Redactor().redact(
      "GET https://a.blob.core.windows.net/c/k?sv=2025&sig=AbC%2Bdef&se=1 " +
        "AccountKey=abc123==; Authorization: Bearer ya29.token SharedKey acct:sig== " +
        "X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA/2025 upload_id=ADPyc123 " +
        '{"client_secret":"s3cr3t","private_key":"-----BEGIN RSA PRIVATE KEY-----\\nAAAA\\n-----END RSA PRIVATE KEY-----"}',
    );
    for (const leaked of [
      "AbC%2Bdef",
      "abc123==",
      "ya29.token",
      "acct:sig==",
      "deadbeef",
      "AKIA/2025",
      "ADPyc123",
      "s3cr3t",
      "AAAA",
    ]) {
      assert.ok(!out.includes(leaked), `${leaked} in ${out}`);
    }
    assert.match(out, /sv=2025/); // not everything
  });

  test("an SDK error becomes a copy with name, code, status and a redacted message, nothing else", () => {
    const sdkError = Object.assign(new Error(`Server failed to authenticate https://x/c?sig=${secret}`), {
      name: "RestError",
      code: "AuthorizationFailure",
      statusCode: 403,
      request: { url: `https://x/c?sig=${secret}`, headers: { authorization: `SharedKey a:${secret}` } },
    });
    const cause = redactedCause(sdkError, redactor);
    const printed = inspect(cause, { depth: null });
    assert.ok(!printed.includes(secret), printed);
    assert.equal(cause.name, "RestError");
    assert.equal((cause as unknown as { code: string }).code, "AuthorizationFailure");
    assert.equal((cause as unknown as { status: number }).status, 403);
    assert.ok(!("request" in cause));
    assert.equal(
      describeCause(sdkError, redactor),
      "AuthorizationFailure: Server failed to authenticate https://x/c?sig=[REDACTED]",
    );
  });

  test("typed errors name backend, bucket and key and carry only the redacted cause", () => {
    const ops = new Operations({
      kind: "azure",
      bucket: "container",
      prefix: "p",
      location: (key) => `azure://acct/container/${key}`,
      redactor,
      classify: classifyAzureError,
      options: {},
    });
    const error = ops.typed(
      Object.assign(new Error(`denied ${secret}`), { statusCode: 403, code: "AuthorizationFailure" }),
      "get",
      "p/k",
    );
    assert.equal(error.name, "AccessDeniedError");
    assert.equal(error.reason, "StorageAccessDenied");
    assert.equal(error.message, "get azure://acct/container/p/k: access denied (AuthorizationFailure: denied [REDACTED])");
    assert.deepEqual([error.backend, error.bucket, error.key], ["azure", "container", "p/k"]);
    assert.ok(!inspect(error, { depth: null }).includes(secret));
  });
});
