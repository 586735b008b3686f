// The runtime every controller runs on: a controller file provides `reconcile` (decide and write
// status) and `finalize` (clean up on deletion); this file owns watching, the work queue,
// backoff per error class, finalizers, leader election, long-running work, probes, metrics and
// graceful shutdown. Configuration comes from the environment (docs/operations.md).
import { hostname } from "node:os";
import type { Registry } from "prom-client";
import { createLogger, type Logger } from "../log.ts";
import type { SecretReader } from "../storage/config.ts";
import { apiErrorMessage, connectKube, httpCode, type Kube } from "./client.ts";
import { EventRecorder } from "./events.ts";
import { idleCollector, saveMemory } from "./idle-gc.ts";
import { Informer } from "./informer.ts";
import { LeaderElector, leaderTimings } from "./leader.ts";
import { OperatorMetrics } from "./metrics.ts";
import { Backoff, WorkQueue } from "./queue.ts";
import { type CustomResource, type Kind, Resources, splitKey } from "./resource.ts";
import { secretReader } from "./secrets.ts";
import { startProbeServer } from "./server.ts";

export interface Action {
  /** Reconcile again after this long (a schedule's next tick, a progress poll). */
  requeueAfterMs?: number;
}

export interface Context<Spec, Status> {
  kube: Kube;
  resources: Resources<Spec, Status>;
  events: EventRecorder;
  metrics: OperatorMetrics;
  log: Logger;
  secrets(namespace: string): SecretReader;
  work: WorkRegistry;
  /** This process's identity (the pod name): unique among replicas. */
  identity: string;
  /** Wakes a key (from long-running work that finished, for example). */
  enqueue(key: string, afterMs?: number): void;
  /** Aborted on shutdown: long work checkpoints and stops. */
  shutdown: AbortSignal;
  /**
   * How long a lease this process takes on its work (a backup set's) may go unrenewed: the
   * leader's renew deadline. A killed leader's leases have then expired by the time a standby may
   * lead, so the standby resumes the work at once. Undefined without leader election.
   */
  workLeaseTtlMs?: number;
}

export interface ControllerDefinition<Spec, Status> {
  kind: Kind;
  /** e.g. kafka.oso.sh/backup-finalizer (the existing operator's names). */
  finalizer: string;
  /** Names the Deployment, the leader Lease and the Events' source. */
  component: string;
  /** The metrics `kind` label. */
  metricsKind: string;
  reconcile(o: CustomResource<Spec, Status>, ctx: Context<Spec, Status>): Promise<Action>;
  /**
   * Extra clean-up when the object is deleted, before its finalizer is removed. The runtime has
   * already cancelled the object's running work (it stops at its checkpoint).
   */
  finalize?(o: CustomResource<Spec, Status>, ctx: Context<Spec, Status>): Promise<void>;
  /** Backoff floor for an error class (its `reason`), e.g. a missing Secret waits longer. */
  minimumBackoffMs?(err: unknown): number;
}

export interface RuntimeOptions {
  namespaces: string[];
  metricsPort: number;
  metricsHost: string;
  leaderElection: boolean;
  leaseNamespace: string;
  identity: string;
  leaseDurationMs: number;
  resyncMs: number;
  concurrency: number;
  logLevel: string;
}

export function runtimeOptionsFromEnv(env = process.env): RuntimeOptions {
  return {
    namespaces: (env.WATCH_NAMESPACES ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    metricsPort: Number(env.METRICS_PORT ?? 8080),
    metricsHost: env.METRICS_BIND_ADDRESS ?? "0.0.0.0",
    leaderElection: (env.LEADER_ELECTION ?? "true") !== "false",
    leaseNamespace: env.LEADER_ELECTION_NAMESPACE ?? env.POD_NAMESPACE ?? "default",
    identity: env.POD_NAME ?? `${hostname()}-${process.pid}`,
    leaseDurationMs: Number(env.LEADER_ELECTION_LEASE_SECONDS ?? 15) * 1000,
    resyncMs: Number(env.RESYNC_SECONDS ?? 300) * 1000,
    concurrency: Number(env.RECONCILE_CONCURRENCY ?? 8),
    logLevel: env.LOG_LEVEL ?? "info",
  };
}

/** Long work that runs outside reconcile (a backup, a restore), one per object, cancellable. */
/** How long SIGTERM waits for running work to checkpoint (SHUTDOWN_GRACE_SECONDS, default 20). */
const shutdownGraceMs = Number(process.env.SHUTDOWN_GRACE_SECONDS ?? 20) * 1000;

export class WorkRegistry {
  private readonly jobs = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private readonly onFinished: (key: string) => void;

  /** `onFinished` runs once the key's work is over and gone: its reconcile sees it finished. */
  constructor(onFinished: (key: string) => void = () => {}) {
    this.onFinished = onFinished;
  }

  running(key: string): boolean {
    return this.jobs.has(key);
  }

  /** How many keys have work running. */
  get size(): number {
    return this.jobs.size;
  }

  start(key: string, fn: (signal: AbortSignal) => Promise<void>, shutdown: AbortSignal): void {
    if (this.jobs.has(key) || shutdown.aborted) return;
    // Long work runs at V8's full speed; the idle collection turns memory saving on again.
    saveMemory(false);
    const controller = new AbortController();
    const onShutdown = () => controller.abort(shutdown.reason);
    shutdown.addEventListener("abort", onShutdown, { once: true });
    const done = fn(controller.signal).finally(() => {
      shutdown.removeEventListener("abort", onShutdown);
      this.jobs.delete(key);
      if (!shutdown.aborted) this.onFinished(key);
    });
    done.catch(() => {});
    this.jobs.set(key, { controller, done });
  }

  /** Cancels the key's work and waits for it to stop (it checkpoints first). */
  async cancel(key: string, reason: string): Promise<void> {
    const job = this.jobs.get(key);
    if (!job) return;
    job.controller.abort(new Error(reason));
    await job.done.catch(() => {});
  }

  /** Cancels every key's work; true when all of it stopped within `withinMs`. */
  async cancelAll(reason: string, withinMs: number): Promise<boolean> {
    for (const job of this.jobs.values()) job.controller.abort(new Error(reason));
    const stopped = Promise.allSettled([...this.jobs.values()].map((j) => j.done)).then(() => true);
    return await Promise.race([stopped, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), withinMs).unref())]);
  }

  async drain(): Promise<void> {
    await Promise.allSettled([...this.jobs.values()].map((j) => j.done));
  }
}

export async function runController<Spec, Status>(
  def: ControllerDefinition<Spec, Status>,
  options: RuntimeOptions = runtimeOptionsFromEnv(),
): Promise<{ stop: () => Promise<void>; registry: Registry }> {
  const log = createLogger(def.component, options.logLevel);
  const kube = connectKube();
  const metrics = new OperatorMetrics();
  kube.api.onResponse = (verb, code) => metrics.apiRequests.inc({ verb, code: String(code) });
  const resources = new Resources<Spec, Status>(kube, def.kind);
  const events = new EventRecorder(kube, def.component, log);
  const work = new WorkRegistry((key) => queue.add(key));
  const backoff = new Backoff();
  const shutdown = new AbortController();
  let leading = !options.leaderElection;

  const ctx = (objectLog: Logger): Context<Spec, Status> => ({
    kube,
    resources,
    events,
    metrics,
    log: objectLog,
    secrets: (namespace) => secretReader(kube, namespace),
    work,
    identity: options.identity,
    enqueue: (key, afterMs) => (afterMs ? queue.addAfter(key, afterMs) : queue.add(key)),
    shutdown: shutdown.signal,
    ...(options.leaderElection ? { workLeaseTtlMs: leaderTimings(options.leaseDurationMs).renewDeadlineMs } : {}),
  });

  const reconcileKey = async (key: string): Promise<void> => {
    if (!leading || shutdown.signal.aborted) return;
    const object = informer.cache.get(key) as CustomResource<Spec, Status> | undefined;
    if (!object) return;
    const { namespace, name } = splitKey(key);
    const objectLog = log.child({ namespace, name, kind: def.kind.kind });
    const timer = metrics.reconcileDuration.startTimer({ kind: def.metricsKind });
    metrics.reconciliations.inc({ kind: def.metricsKind });
    // One line per reconcile at debug level: how often each object is reconciled (a hot loop shows).
    objectLog.debug("reconcile");
    try {
      const finalizers = object.metadata.finalizers ?? [];
      if (object.metadata.deletionTimestamp) {
        if (finalizers.includes(def.finalizer)) {
          await work.cancel(key, "deleted");
          await def.finalize?.(object, ctx(objectLog));
          metrics.cleanups.inc({ kind: def.metricsKind });
          await resources.setFinalizers(
            object,
            finalizers.filter((f) => f !== def.finalizer),
          );
        }
        backoff.succeed(key);
        return;
      }
      if (!finalizers.includes(def.finalizer)) {
        // The patch wakes the key again; that reconcile sees the finalizer.
        await resources.setFinalizers(object, [...finalizers, def.finalizer]);
        return;
      }
      const action = await def.reconcile(object, ctx(objectLog));
      backoff.succeed(key);
      if (action.requeueAfterMs !== undefined) queue.addAfter(key, action.requeueAfterMs);
    } catch (err) {
      metrics.reconciliationErrors.inc({ kind: def.metricsKind });
      if (httpCode(err) === 409) {
        // The object changed under us: reconcile the new version right away.
        queue.addAfter(key, 100);
        return;
      }
      const delay = backoff.fail(key, (def.minimumBackoffMs ?? secretBackoff)(err));
      objectLog.warn({ err: apiErrorMessage(err), retryInMs: delay }, "reconcile failed");
      queue.addAfter(key, delay);
    } finally {
      timer();
    }
  };

  const queue = new WorkQueue(
    reconcileKey,
    options.concurrency,
    idleCollector(() => work.size > 0),
  );
  const informer = new Informer(kube, def.kind, {
    namespaces: options.namespaces,
    resyncMs: options.resyncMs,
    log,
    signal: shutdown.signal,
    onList: () => metrics.watchLists.inc({ kind: def.metricsKind }),
    onFailure: () => metrics.watchFailures.inc({ kind: def.metricsKind }),
    onChange: (key, object) => {
      metrics.managedResources.set({ kind: def.metricsKind }, informer.cache.size);
      if (object) queue.add(key);
      else {
        // Gone (deleted; or force-deleted without our finalizer running): stop its work, and drop
        // its metric series, which would otherwise outlive it.
        void work.cancel(key, "deleted");
        const { namespace, name } = splitKey(key);
        void metrics.forgetObject(namespace, name).catch(() => {});
      }
    },
  });
  informer.start();

  const server = await startProbeServer(options.metricsPort, options.metricsHost, metrics.registry, {
    // A watch reconnecting is normal (an API server restart, a network blip): ready stays true while
    // the cache is whole and no watch has failed for a minute; alive while none has for five.
    healthy: () => informer.failingForMs() < 300_000,
    ready: () => informer.hasSynced && informer.failingForMs() < 60_000,
  });

  let elector: LeaderElector | undefined;
  // The lease is held until running work has stopped, so no standby starts it meanwhile.
  const electorStop = new AbortController();
  if (options.leaderElection) {
    elector = new LeaderElector(kube, {
      namespace: options.leaseNamespace,
      name: `${def.component}-leader`,
      identity: options.identity,
      leaseDurationMs: options.leaseDurationMs,
      renewMs: leaderTimings(options.leaseDurationMs).renewMs,
      log,
      signal: electorStop.signal,
      onStartedLeading: () => {
        leading = true;
        for (const key of informer.cache.keys()) queue.add(key);
      },
      onStoppedLeading: () => {
        // No renewal for two thirds of the lease (the API server unreachable, or another replica
        // took over): stop all work before a standby may start it, then campaign again. Work
        // stopped this way stays Running in status and is resumed by whoever leads next. If it
        // cannot stop in the third of the lease that is left, exit, as client-go's leaders do.
        leading = false;
        const within = Math.max(500, options.leaseDurationMs / 3 - 1000);
        log.warn({ withinMs: within }, "leadership lost: stopping all work at its checkpoints, then campaigning again");
        void work.cancelAll("shutdown", within).then((stopped) => {
          if (stopped) return;
          log.error("work did not stop in time after the leadership was lost; exiting so a clean process takes over");
          process.exit(1);
        });
      },
    });
    void elector.run();
  }

  const stop = async () => {
    if (shutdown.signal.aborted) return;
    log.info("shutting down: checkpointing running work");
    shutdown.abort(new Error("shutdown"));
    // Within the pod's grace period (30 s by default): work that has not checkpointed by then
    // stays Running in status and is resumed by the next leader.
    const grace = new Promise<"late">((resolve) => setTimeout(() => resolve("late"), shutdownGraceMs).unref());
    if ((await Promise.race([work.drain(), grace])) === "late")
      log.warn({ graceMs: shutdownGraceMs }, "work still running at the end of the grace period");
    await Promise.race([queue.stop(), grace]);
    electorStop.abort();
    await Promise.race([elector?.release(), new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
    server.closeAllConnections?.();
    await Promise.race([
      new Promise<void>((resolve) => server.close(() => resolve())),
      new Promise((resolve) => setTimeout(resolve, 1000).unref()),
    ]);
    log.info("stopped");
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      void stop().then(() => process.exit(0));
    });
  }
  log.info(
    {
      namespaces: options.namespaces.length ? options.namespaces : "all",
      metricsPort: options.metricsPort,
      leaderElection: options.leaderElection,
    },
    `${def.component} started`,
  );
  return { stop, registry: metrics.registry };
}

/** A missing Secret is looked for again after 10 s at the soonest (Secrets are not watched). */
function secretBackoff(err: unknown): number {
  return (err as { reason?: string }).reason === "SecretNotFound" ? 10_000 : 0;
}
