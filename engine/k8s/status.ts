// Status writes every controller makes the same way: the Ready condition with the rest of the
// status, the final outcome of long work (retried, so it lands), a configuration problem as a
// condition and an Event, and an invalid spec as a terminal failure.
import { type Condition, setCondition } from "./conditions.ts";
import type { Action, Context } from "./controller.ts";
import type { CustomResource } from "./resource.ts";

interface StatusWithConditions {
  phase?: string;
  message?: string;
  observedGeneration?: number;
  conditions?: Condition[];
}

export type ReadyCondition = Omit<Condition, "type" | "lastTransitionTime">;

/** Status and the Ready condition, written on the latest version of the object. */
export async function writeStatus<Spec, Status extends StatusWithConditions>(
  ctx: Context<Spec, Status>,
  o: CustomResource<Spec, Status>,
  status: Partial<Status>,
  ready: ReadyCondition,
): Promise<void> {
  const latest = await ctx.resources.get(o.metadata.namespace, o.metadata.name);
  await ctx.resources.patchStatus(latest, {
    ...status,
    conditions: setCondition(
      latest.status?.conditions,
      { type: "Ready", ...ready, observedGeneration: latest.metadata.generation },
      new Date(),
    ),
  } as Partial<Status>);
}

/** The outcome of long work must land: a few tries with a pause, each on the latest version. */
export async function writeFinalStatus<Spec, Status extends StatusWithConditions>(
  ctx: Context<Spec, Status>,
  o: CustomResource<Spec, Status>,
  status: Partial<Status>,
  ready: ReadyCondition,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await writeStatus(ctx, o, status, ready);
    } catch (err) {
      if (attempt >= 5) throw err;
      ctx.log.warn({ attempt, err: (err as Error).message }, "final status write failed; retrying");
      await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
    }
  }
}

/** A spec the controller cannot act on: Failed with the reason, an Event, no retry. */
export async function failValidation<Spec, Status extends StatusWithConditions>(
  ctx: Context<Spec, Status>,
  o: CustomResource<Spec, Status>,
  reason: string,
  message: string,
): Promise<Action> {
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
