// Status writes every controller makes the same way: the Ready condition with the rest of the
// status, the final outcome of long work (retried, so it lands), a configuration problem as a
// condition and an Event, and an invalid spec as a terminal failure.
import { type Condition, setCondition } from "./conditions.ts";
import type { Action, Context } from "./controller.ts";
import { type CustomResource, keyOf } from "./resource.ts";

interface StatusWithConditions {
  phase?: string;
  message?: string;
  observedGeneration?: number;
  conditions?: Condition[];
}

export type ReadyCondition = Omit<Condition, "type" | "lastTransitionTime">;

/**
 * Status and (unless undefined) the Ready condition, written on the latest version of the object;
 * `other` sets conditions of other types (e.g. TopicRecreated) in the same write.
 */
export async function writeStatus<Spec, Status extends StatusWithConditions>(
  ctx: Context<Spec, Status>,
  o: CustomResource<Spec, Status>,
  status: Partial<Status>,
  ready: ReadyCondition | undefined,
  other: Omit<Condition, "lastTransitionTime"> | Omit<Condition, "lastTransitionTime">[] = [],
): Promise<void> {
  const others = Array.isArray(other) ? other : [other];
  const latest = await ctx.resources.get(o.metadata.namespace, o.metadata.name);
  const generation = latest.metadata.generation;
  let conditions = latest.status?.conditions;
  if (ready) conditions = setCondition(conditions, { type: "Ready", ...ready, observedGeneration: generation }, new Date());
  for (const c of others) conditions = setCondition(conditions, { ...c, observedGeneration: generation }, new Date());
  await ctx.resources.patchStatus(latest, {
    ...status,
    ...(ready || others.length ? { conditions } : {}),
  } as Partial<Status>);
}

/** The outcome of long work must land: a few tries with a pause, each on the latest version. */
export async function writeFinalStatus<Spec, Status extends StatusWithConditions>(
  ctx: Context<Spec, Status>,
  o: CustomResource<Spec, Status>,
  status: Partial<Status>,
  ready: ReadyCondition | undefined,
  other: Omit<Condition, "lastTransitionTime"> | Omit<Condition, "lastTransitionTime">[] = [],
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await writeStatus(ctx, o, status, ready, other);
    } catch (err) {
      if (attempt >= 5) throw err;
      ctx.log.warn({ attempt, err: (err as Error).message }, "final status write failed; retrying");
      await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
    }
  }
}

/** A spec the controller cannot act on: Failed with the reason, an Event (once), no retry. */
export async function failValidation<Spec, Status extends StatusWithConditions>(
  ctx: Context<Spec, Status>,
  o: CustomResource<Spec, Status>,
  reason: string,
  message: string,
): Promise<Action> {
  const current = o.status?.conditions?.find((c) => c.type === "Ready");
  if (o.status?.phase === "Failed" && current?.reason === reason && current.message === message) return {};
  await writeStatus(ctx, o, { phase: "Failed", message, observedGeneration: o.metadata.generation } as Partial<Status>, {
    status: "False",
    reason,
    message,
  });
  await ctx.events.record(o, "Warning", reason, message);
  return {};
}

/**
 * A missing Secret or unusable setting: a condition and an Event (once per distinct problem), and
 * another look soon — Secrets are not watched, so creating one recovers without touching the
 * resource.
 */
export async function waitForConfiguration<Spec, Status extends StatusWithConditions>(
  ctx: Context<Spec, Status>,
  o: CustomResource<Spec, Status>,
  err: unknown,
  retryAfterMs = 10_000,
): Promise<Action> {
  const reason = (err as { reason?: string }).reason ?? "ConfigurationError";
  const message = (err as Error).message;
  const current = o.status?.conditions?.find((c) => c.type === "Ready");
  if (current?.reason !== reason || current.message !== message) {
    await writeStatus(ctx, o, { phase: "Pending", message } as Partial<Status>, { status: "False", reason, message });
    await ctx.events.record(o, "Warning", reason, message);
  }
  return { requeueAfterMs: retryAfterMs };
}

/** spec.suspend: cancel the running work, say so once, start nothing. */
export async function suspend<Spec, Status extends StatusWithConditions>(
  ctx: Context<Spec, Status>,
  o: CustomResource<Spec, Status>,
  what: string,
): Promise<Action> {
  const key = keyOf(o);
  if (ctx.work.running(key)) await ctx.work.cancel(key, "suspended");
  if (o.status?.phase !== "Suspended") {
    await writeStatus(
      ctx,
      o,
      { phase: "Suspended", message: `suspended: no ${what} starts until spec.suspend is false` } as Partial<Status>,
      {
        status: "False",
        reason: "Suspended",
        message: "spec.suspend is true",
      },
    );
    await ctx.events.record(o, "Normal", "Suspended", `${what}s suspended`);
  }
  return {};
}
