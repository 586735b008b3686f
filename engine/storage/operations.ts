// What every backend does around each call to its store: check the key, put the prefix in front,
// run the call under the retry policy, and turn whatever failed into a typed, redacted error that
// names the backend, bucket and key. A backend supplies only `classify` (its SDK's error shapes).
import type { Logger } from "pino";
import {
  type BackendKind,
  type BackendOptions,
  defaultDeleteConcurrency,
  defaultIdleTimeoutMs,
  defaultPartSize,
  defaultQueueSize,
} from "./backend.ts";
import {
  AccessDeniedError,
  describeCause,
  InvalidKeyError,
  ObjectNotFoundError,
  PreconditionFailedError,
  type Redactor,
  redactedCause,
  StorageError,
  TransientStorageError,
} from "./errors.ts";
import { joinKey, keyProblem, stripPrefix, validateListPrefix } from "./keys.ts";
import { type RetryPolicy, retryPolicy, withRetry } from "./retry.ts";

export type FailureKind = "notFound" | "precondition" | "accessDenied" | "transient" | "failed";

export interface OperationsConfig {
  kind: BackendKind;
  bucket: string;
  prefix: string;
  /** Where an object key (prefix included) lives, e.g. s3://bucket/key. */
  location(objectKey: string): string;
  redactor: Redactor;
  /** What kind of failure an SDK or system error is. */
  classify(error: unknown): FailureKind;
  /** One line about the error for the message; the default is its code and first line. */
  describe?(error: unknown): string;
  options: BackendOptions;
}

export interface RunOptions {
  signal?: AbortSignal | undefined;
  /** What a PreconditionFailedError says, e.g. "it already exists". */
  precondition?: string;
  /** A conditional replace or a resumed read: the key being gone means it changed. */
  notFoundIsPrecondition?: boolean;
}

const summaries: Record<FailureKind, string> = {
  notFound: "not found",
  precondition: "precondition failed",
  accessDenied: "access denied",
  transient: "storage unavailable",
  failed: "failed",
};

export class Operations {
  readonly policy: RetryPolicy;
  readonly partSize: number;
  readonly queueSize: number;
  readonly idleTimeoutMs: number;
  readonly deleteConcurrency: number;
  readonly #config: OperationsConfig;
  readonly #logger: Logger | undefined;

  constructor(config: OperationsConfig) {
    const { options } = config;
    this.#config = config;
    this.#logger = options.logger?.child({ backend: config.kind, bucket: config.bucket });
    this.policy = retryPolicy(options.retry);
    this.partSize = positive("partSize", options.partSize ?? defaultPartSize);
    this.queueSize = positive("queueSize", options.queueSize ?? defaultQueueSize);
    this.idleTimeoutMs = positive("idleTimeoutMs", options.idleTimeoutMs ?? defaultIdleTimeoutMs);
    this.deleteConcurrency = positive("deleteConcurrency", options.deleteConcurrency ?? defaultDeleteConcurrency);
  }

  /** The key as the store sees it; InvalidKeyError naming the backend and bucket when invalid. */
  objectKey(key: string): string {
    const problem = keyProblem(key);
    if (problem) {
      throw new InvalidKeyError(`invalid key ${JSON.stringify(key)} for ${this.location("")}: it ${problem}`, this.#where(key));
    }
    return joinKey(this.#config.prefix, key);
  }

  /** The listing prefix as the store sees it. */
  listPrefix(prefix: string): string {
    try {
      validateListPrefix(prefix);
    } catch (error) {
      throw new InvalidKeyError(`${(error as Error).message} (${this.location("")})`, this.#where(prefix));
    }
    return joinKey(this.#config.prefix, prefix);
  }

  relativeKey(objectKey: string): string {
    return stripPrefix(this.#config.prefix, objectKey);
  }

  location(objectKey: string): string {
    return this.#config.location(objectKey);
  }

  /** Runs one call to the store under the retry policy; failures come out typed. */
  run<T>(
    operation: string,
    objectKey: string | undefined,
    call: (signal: AbortSignal, attempt: number) => Promise<T>,
    opts: RunOptions = {},
  ): Promise<T> {
    const { options } = this.#config;
    return withRetry(
      {
        operation,
        key: objectKey,
        policy: this.policy,
        signal: opts.signal,
        classify: (error, timedOut) =>
          timedOut
            ? this.error("transient", operation, objectKey, `no answer within ${this.policy.attemptTimeoutMs} ms`)
            : this.typed(error, operation, objectKey, opts.precondition, opts.notFoundIsPrecondition),
        onRetry: options.onRetry,
        logger: this.#logger,
      },
      call,
    );
  }

  /** A StorageError of the classified kind for an SDK or system error (a StorageError passes through). */
  typed(
    error: unknown,
    operation: string,
    objectKey: string | undefined,
    precondition?: string,
    notFoundIsPrecondition = false,
  ): StorageError {
    if (error instanceof StorageError) return error;
    const classified = this.#config.classify(error);
    const kind = classified === "notFound" && notFoundIsPrecondition ? "precondition" : classified;
    const detail = this.#config.describe?.(error) ?? describeCause(error, this.#config.redactor);
    const summary = kind === "precondition" && precondition ? precondition : undefined;
    return this.error(kind, operation, objectKey, detail, redactedCause(error, this.#config.redactor), summary);
  }

  /** A StorageError of a kind, with the standard message: "<operation> <location>: <summary> (<detail>)". */
  error(
    kind: FailureKind,
    operation: string,
    objectKey: string | undefined,
    detail?: string,
    cause?: Error,
    summary: string = summaries[kind],
  ): StorageError {
    const text = this.#config.redactor.redact(
      `${operation} ${this.location(objectKey ?? this.#config.prefix)}: ${summary}${detail ? ` (${detail})` : ""}`,
    );
    const where = this.#where(objectKey);
    const options = cause ? { cause } : undefined;
    switch (kind) {
      case "notFound":
        return new ObjectNotFoundError(text, where, options);
      case "precondition":
        return new PreconditionFailedError(text, where, options);
      case "accessDenied":
        return new AccessDeniedError(text, where, options);
      case "transient":
        return new TransientStorageError(text, where, options);
      default:
        return new StorageError(text, where, options);
    }
  }

  #where(key: string | undefined) {
    return { backend: this.#config.kind, bucket: this.#config.bucket, key };
  }
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`storage option ${name} must be a positive integer, got ${value}`);
  return value;
}
