import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import { pino } from "pino";
import { AccessDeniedError, type StorageError, TransientStorageError } from "../../engine/storage/errors.ts";
import {
  backoffDelay,
  defaultRetryPolicy,
  type RetryContext,
  type RetryEvent,
  retryPolicy,
  withRetry,
  worstCaseMs,
} from "../../engine/storage/retry.ts";

const fast = retryPolicy({ maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 4, attemptTimeoutMs: 50 });

function context(overrides: Partial<RetryContext> = {}): RetryContext & { events: RetryEvent[] } {
  const events: RetryEvent[] = [];
  return {
    operation: "put",
    key: "k",
    policy: fast,
    classify: (error, timedOut) =>
      timedOut
        ? new TransientStorageError("timed out")
        : error instanceof Error && error.message === "busy"
          ? new TransientStorageError("busy")
          : new AccessDeniedError(String((error as Error).message)),
    onRetry: (e) => events.push(e),
    events,
    ...overrides,
  };
}

describe("retry policy", () => {
  test("delays: equal jitter, doubling per retry, capped", () => {
    const policy = retryPolicy({ baseDelayMs: 100, maxDelayMs: 1000 });
    assert.equal(
      backoffDelay(policy, 1, () => 0),
      50,
    );
    assert.equal(
      backoffDelay(policy, 1, () => 1),
      100,
    );
    assert.equal(
      backoffDelay(policy, 2, () => 1),
      200,
    );
    assert.equal(
      backoffDelay(policy, 3, () => 0),
      200,
    );
    assert.equal(
      backoffDelay(policy, 5, () => 1),
      1000,
    );
    assert.equal(
      backoffDelay(policy, 30, () => 0),
      500,
    );
    for (let retry = 1; retry < 10; retry++) {
      const delay = backoffDelay(policy, retry);
      const cap = Math.min(1000, 100 * 2 ** (retry - 1));
      assert.ok(delay >= cap / 2 && delay <= cap, `retry ${retry}: ${delay}`);
    }
  });

  test("defaults and the worst case they imply", () => {
    assert.deepEqual(retryPolicy(), defaultRetryPolicy);
    // 5 attempts of 60 s plus delays of at most 0.25 + 0.5 + 1 + 2 s.
    assert.equal(worstCaseMs(defaultRetryPolicy), 5 * 60_000 + 250 + 500 + 1000 + 2000);
    assert.throws(() => retryPolicy({ maxAttempts: 0 }), RangeError);
    assert.throws(() => retryPolicy({ attemptTimeoutMs: Number.NaN }), RangeError);
  });

  test("transient failures are retried, then the call succeeds", async () => {
    const ctx = context();
    let calls = 0;
    const result = await withRetry(ctx, async (_signal, attempt) => {
      calls++;
      if (attempt < 3) throw new Error("busy");
      return "done";
    });
    assert.equal(result, "done");
    assert.equal(calls, 3);
    assert.deepEqual(
      ctx.events.map((e) => [e.attempt, e.operation, e.key]),
      [
        [1, "put", "k"],
        [2, "put", "k"],
      ],
    );
  });

  test("other failures are not retried", async () => {
    const ctx = context();
    let calls = 0;
    await assert.rejects(
      withRetry(ctx, async () => {
        calls++;
        throw new Error("denied");
      }),
      (error: StorageError) => error instanceof AccessDeniedError && error.attempts === 1,
    );
    assert.equal(calls, 1);
    assert.equal(ctx.events.length, 0);
  });

  test("gives up after maxAttempts, saying so", async () => {
    const ctx = context();
    let calls = 0;
    await assert.rejects(
      withRetry(ctx, async () => {
        calls++;
        throw new Error("busy");
      }),
      (error: StorageError) => {
        assert.ok(error instanceof TransientStorageError);
        assert.equal(error.attempts, 4);
        assert.match(error.message, /gave up after 4 attempts/);
        return true;
      },
    );
    assert.equal(calls, 4);
  });

  test("an attempt that never answers is cut at its deadline and retried", async () => {
    const ctx = context();
    const signals: AbortSignal[] = [];
    const result = await withRetry(ctx, (signal, attempt) => {
      signals.push(signal);
      // The first attempt ignores its signal entirely: the deadline must hold anyway.
      return attempt === 1 ? new Promise<string>(() => {}) : Promise.resolve("second");
    });
    assert.equal(result, "second");
    assert.equal(signals[0]?.aborted, true);
    assert.equal(signals[0]?.reason?.name, "TimeoutError");
    assert.equal(ctx.events[0]?.error.message, "timed out");
  });

  test("a successful attempt's signal is not aborted later (streams it returned live on)", async () => {
    let kept: AbortSignal | undefined;
    await withRetry(context(), async (signal) => {
      kept = signal;
    });
    await new Promise((resolve) => setTimeout(resolve, fast.attemptTimeoutMs * 2));
    assert.equal(kept?.aborted, false);
  });

  test("the caller's signal cancels at once, between and during attempts", async () => {
    const controller = new AbortController();
    const ctx = context({ signal: controller.signal, policy: retryPolicy({ ...fast, baseDelayMs: 10_000, maxDelayMs: 10_000 }) });
    const started = Date.now();
    const pending = withRetry(ctx, async () => {
      throw new Error("busy");
    });
    setTimeout(() => controller.abort(new Error("cancelled by the caller")), 20);
    await assert.rejects(pending, /cancelled by the caller/);
    assert.ok(Date.now() - started < 5000);
    await assert.rejects(
      withRetry(context({ signal: AbortSignal.abort(new Error("already")) }), async () => "never"),
      /already/,
    );
  });

  test("retries are logged as warnings and final failures at debug, with the message only", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _e, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino({ level: "debug" }, sink);
    await assert.rejects(
      withRetry(context({ logger }), async () => {
        throw new Error("busy");
      }),
    );
    const records = lines.map((l) => JSON.parse(l) as { level: number; msg: string; attempt?: number; reason?: string });
    assert.equal(records.filter((r) => r.msg === "storage operation failed; retrying" && r.level === 40).length, 3);
    assert.equal(records.filter((r) => r.msg === "storage operation failed" && r.level === 20).length, 1);
    assert.ok(records.every((r) => !("err" in r) && !("stack" in r)));
  });
});
