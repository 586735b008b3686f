// The one retry helper every backend uses. Each attempt gets its own deadline (an AbortSignal
// the SDK call receives); only TransientStorageError is retried, after a jittered exponential
// delay; the caller's signal cancels at once. The SDKs' own retries are switched off (S3
// maxAttempts 1, Azure maxTries 1, GCS is plain fetch), so the worst case is what the policy
// says: maxAttempts × attemptTimeoutMs plus the delays.
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { type StorageError, TransientStorageError } from "./errors.ts";

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Delay cap before the first retry; doubles per retry up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Deadline of one attempt (one request, one part, one page). */
  attemptTimeoutMs: number;
}

export const defaultRetryPolicy: RetryPolicy = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  attemptTimeoutMs: 60_000,
});

export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...defaultRetryPolicy, ...overrides };
  for (const [name, value] of Object.entries(policy)) {
    if (!Number.isFinite(value) || value < (name === "maxAttempts" || name === "attemptTimeoutMs" ? 1 : 0)) {
      throw new RangeError(`retry policy ${name} must be a positive number, got ${value}`);
    }
  }
  return policy;
}

/**
 * The delay before retry number `retry` (1 = the first retry): "equal jitter", a uniformly
 * random value between half the capped exponential delay and all of it, so delays grow for
 * sure while concurrent clients still spread out.
 */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/** The longest an operation can take under a policy: every attempt timing out, longest delays. */
export function worstCaseMs(policy: RetryPolicy): number {
  let total = policy.maxAttempts * policy.attemptTimeoutMs;
  for (let retry = 1; retry < policy.maxAttempts; retry++) total += backoffDelay(policy, retry, () => 1);
  return total;
}

export interface RetryEvent {
  operation: string;
  key: string | undefined;
  /** The attempt that failed (1-based). */
  attempt: number;
  delayMs: number;
  error: StorageError;
}

export interface RetryContext {
  operation: string;
  key?: string;
  policy: RetryPolicy;
  /** The caller's cancellation; never retried past. */
  signal?: AbortSignal | undefined;
  /** Turns whatever an attempt threw into a typed error; `timedOut` when its deadline fired. */
  classify(error: unknown, timedOut: boolean): StorageError;
  onRetry?: ((event: RetryEvent) => void) | undefined;
  logger?: Logger | undefined;
}

export async function withRetry<T>(ctx: RetryContext, attempt: (signal: AbortSignal, attempt: number) => Promise<T>): Promise<T> {
  const { policy } = ctx;
  for (let n = 1; ; n++) {
    ctx.signal?.throwIfAborted();
    // A timer cleared when the attempt settles, not AbortSignal.timeout: a stream an attempt
    // returned (a download body) still listens to this signal and must outlive the deadline.
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new DOMException(`no answer within ${policy.attemptTimeoutMs} ms`, "TimeoutError")),
      policy.attemptTimeoutMs,
    );
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, deadline.signal]) : deadline.signal;
    let error: StorageError;
    try {
      return await untilAborted(attempt(signal, n), signal);
    } catch (thrown) {
      if (ctx.signal?.aborted) throw ctx.signal.reason;
      error = ctx.classify(thrown, deadline.signal.aborted);
    } finally {
      clearTimeout(timer);
    }
    error.attempts = n;
    if (!(error instanceof TransientStorageError) || n >= policy.maxAttempts) {
      const final =
        error instanceof TransientStorageError
          ? new TransientStorageError(`${error.message} (gave up after ${n} attempts)`, error, { cause: error.cause as Error })
          : error;
      final.attempts = n;
      ctx.logger?.debug(
        { operation: ctx.operation, key: ctx.key, attempts: n, reason: final.reason, error: final.message },
        "storage operation failed",
      );
      throw final;
    }
    const delayMs = backoffDelay(policy, n);
    ctx.logger?.warn(
      { operation: ctx.operation, key: ctx.key, attempt: n, delayMs, reason: error.reason, error: error.message },
      "storage operation failed; retrying",
    );
    ctx.onRetry?.({ operation: ctx.operation, key: ctx.key, attempt: n, delayMs, error });
    await sleep(delayMs, undefined, ctx.signal ? { signal: ctx.signal } : undefined).catch(() => {
      throw ctx.signal?.reason;
    });
  }
}

/**
 * Settles with the promise, or rejects as soon as the signal aborts: a deadline holds even when
 * an SDK ignores the signal in some phase (credential lookup, for one).
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
