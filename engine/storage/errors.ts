// Typed storage errors. Each kind carries a `reason` a controller puts in a condition as is, and a
// message that names the backend, the bucket (container, root directory) and the key. Messages
// and causes pass through a Redactor first: SDK errors carry request URLs with SAS signatures,
// signed headers and the like, so an SDK error object is never kept, only a redacted copy.
import type { BackendKind } from "./backend.ts";

export interface ErrorLocation {
  backend?: BackendKind;
  /** Bucket, container or root directory. */
  bucket?: string;
  /** The object key as the store sees it (the backend's prefix included). */
  key?: string;
}

export class StorageError extends Error {
  readonly reason: string = "StorageFailed";
  readonly backend: BackendKind | undefined;
  readonly bucket: string | undefined;
  readonly key: string | undefined;
  /** How many attempts the operation made before this error; set by the retry helper. */
  attempts = 1;

  constructor(message: string, where: ErrorLocation = {}, options?: { cause?: Error }) {
    super(message, options);
    this.name = new.target.name;
    this.backend = where.backend;
    this.bucket = where.bucket;
    this.key = where.key;
  }
}

export class ObjectNotFoundError extends StorageError {
  override readonly reason = "StorageObjectNotFound";
}

/** A conditional write lost: the key exists (create) or changed since it was read (replace). */
export class PreconditionFailedError extends StorageError {
  override readonly reason = "StoragePreconditionFailed";
}

export class AccessDeniedError extends StorageError {
  override readonly reason = "StorageAccessDenied";
}

/** The store did not answer, answered late, or said "try again"; the only kind that is retried. */
export class TransientStorageError extends StorageError {
  override readonly reason = "StorageUnavailable";
}

export class InvalidKeyError extends StorageError {
  override readonly reason = "InvalidStorageKey";
}

/** The storage configuration cannot work; `field` names the spec field to fix. */
export class StorageConfigError extends StorageError {
  override readonly reason = "InvalidStorageConfig";
  readonly field: string;

  constructor(field: string, message: string) {
    super(`storage.${field}: ${message}`);
    this.field = field;
  }
}

// Query parameters and header values that are credentials whatever their content: Azure SAS
// fields, AWS presigned-URL fields, OAuth tokens, GCS resumable session ids (a session URL lets
// anyone upload into it).
const secretParams =
  /((?:^|[?&;\s])(?:sig|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|access_token|assertion|upload_id|code)=)[^&\s"'<>]*/gi;
const secretFields =
  /\b(AccountKey|SharedAccessSignature|SecretAccessKey|client_secret|private_key)(["']?\s*[=:]\s*["']?)[^;\s"',}]+/gi;
const authorization = /\b(Bearer|SharedKey|AWS4-HMAC-SHA256)\s+[^\s"',]+/g;
const pemKey = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g;

/**
 * Removes credentials from text: every known secret value (and its URL- and JSON-escaped forms,
 * and each line of a multi-line secret such as a PEM key), plus values that look like
 * credentials whatever they are.
 */
export class Redactor {
  readonly #secrets: string[];

  constructor(secrets: Iterable<string | undefined> = []) {
    const forms = new Set<string>();
    for (const secret of secrets) {
      if (!secret || secret.length < 6) continue;
      forms.add(secret);
      forms.add(encodeURIComponent(secret));
      forms.add(JSON.stringify(secret).slice(1, -1));
      for (const line of secret.split(/\r?\n|\\n/)) if (line.trim().length >= 16) forms.add(line.trim());
    }
    // Longest first, so a secret that contains another is removed whole.
    this.#secrets = [...forms].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.#secrets) out = out.split(secret).join("[REDACTED]");
    return out
      .replace(pemKey, "[REDACTED PRIVATE KEY]")
      .replace(secretParams, "$1[REDACTED]")
      .replace(secretFields, "$1$2[REDACTED]")
      .replace(authorization, "$1 [REDACTED]");
  }
}

/**
 * A redacted stand-in for an SDK or system error: its name, code, HTTP status and message, and
 * nothing else (no request, no headers, no response body).
 */
export function redactedCause(error: unknown, redactor: Redactor): Error {
  const source = error instanceof Error ? error : new Error(String(error));
  const copy = new Error(redactor.redact(source.message));
  copy.name = source.name;
  copy.stack = redactor.redact(source.stack ?? `${copy.name}: ${copy.message}`);
  const fields = source as unknown as Record<string, unknown>;
  const code = fields.code ?? fields.Code;
  const status =
    fields.statusCode ?? fields.status ?? (fields.$metadata as { httpStatusCode?: number } | undefined)?.httpStatusCode;
  Object.assign(copy, {
    ...(typeof code === "string" || typeof code === "number" ? { code: redactor.redact(String(code)) } : {}),
    ...(typeof status === "number" ? { status } : {}),
  });
  return copy;
}

/** A one-line description of an SDK or system error for a message, redacted. */
export function describeCause(error: unknown, redactor: Redactor): string {
  if (!(error instanceof Error)) return redactor.redact(String(error));
  const fields = error as unknown as Record<string, unknown>;
  const code = fields.code ?? fields.Code;
  const firstLine = error.message.split("\n")[0]?.trim() || error.name;
  const prefix = typeof code === "string" && code && !firstLine.includes(code) ? `${code}: ` : "";
  return redactor.redact(`${prefix}${firstLine}`);
}

/** Network-level failures that are worth another attempt (Node and undici error codes). */
const transientCodes = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ENETDOWN",
  "EHOSTDOWN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
  "ERR_STREAM_PREMATURE_CLOSE",
  "REQUEST_SEND_ERROR",
]);

/** True when the error (or one of its causes) is a network failure or a timeout. */
export function isNetworkError(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && transientCodes.has(code)) return true;
    // IdleStreamError: a download that stalled or ended short (transfer.ts).
    if (["TimeoutError", "AbortError", "RequestTimeout", "IdleStreamError"].includes(e.name)) return true;
    if (/socket hang up|network|timed? ?out|terminated|other side closed|premature close/i.test(e.message)) return true;
  }
  return false;
}

/** HTTP statuses that mean "try again". */
export function isTransientStatus(status: number | undefined): boolean {
  return status === 408 || status === 429 || (status !== undefined && status >= 500);
}
