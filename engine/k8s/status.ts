// Status writes that end a step: the status fields and the Ready condition together, on the latest
// version of the object (its lastTransitionTime moves only when Ready's status changes), and the
// outcome of a run retried until it lands.
import type { Condition } from "./conditions.ts";
import { setCondition } from "./conditions.ts";
import type { Context } from "./controller.ts";
import type { CustomResource } from "./resource.ts";

export type Ready = Omit<Condition, "type" | "lastTransitionTime">;

export async function writeReadyStatus<Spec, Status extends { conditions?: Condition[] }>(
  ctx: Context<Spec, Status>,
  o: CustomResource<Spec, Status>,
  status: Partial<Status>,
  ready: Ready,
): Promise<CustomResource<Spec, Status>> {
  const latest = await ctx.resources.get(o.metadata.namespace, o.metadata.name);
  return await ctx.resources.patchStatus(latest, {
    ...status,
    conditions: setCondition(
      latest.status?.conditions,
      { type: "Ready", ...ready, observedGeneration: latest.metadata.generation },
      new Date(),
    ),
  } as Partial<Status>);
}

/** The outcome of a run must land: a few tries with a pause, each on the latest version. */
export async function writeFinalReadyStatus<Spec, Status extends { conditions?: Condition[] }>(
  ctx: Context<Spec, Status>,
  o: CustomResource<Spec, Status>,
  status: Partial<Status>,
  ready: Ready,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await writeReadyStatus(ctx, o, status, ready);
      return;
    } catch (err) {
      if (attempt >= 5) throw err;
      ctx.log.warn({ attempt, err: (err as Error).message }, "final status write failed; retrying");
      await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
    }
  }
}

/**
 * A missing Secret or referenced object, or an unusable setting: phase Pending, Ready=False with
 * the error's reason, one Warning Event per distinct message, and another look in 10 s (Secrets
 * and references are not watched, so creating them recovers without touching the resource).
 */
export async function waitForConfiguration<Spec, Status extends { conditions?: Condition[]; phase?: string; message?: string }>(
  ctx: Context<Spec, Status>,
  o: CustomResource<Spec, Status>,
  err: unknown,
): Promise<{ requeueAfterMs: number }> {
  const reason = (err as { reason?: string }).reason ?? "ConfigurationError";
  const message = (err as Error).message;
  const current = o.status?.conditions?.find((c) => c.type === "Ready");
  if (current?.reason !== reason || current.message !== message) {
    await writeReadyStatus(ctx, o, { phase: "Pending", message } as Partial<Status>, { status: "False", reason, message });
    await ctx.events.record(o as CustomResource, "Warning", reason, message);
  }
  return { requeueAfterMs: 10_000 };
}

const reportedEdits = new Set<string>();

/**
 * For resources that run once (offset reset and rollback): a spec edited after the run finished
 * is not run again; the edit gets one SpecChangeIgnored Warning Event per generation.
 */
export async function ignoreEditOfFinished<Spec, Status extends { observedGeneration?: number; phase?: string }>(
  ctx: Context<Spec, Status>,
  o: CustomResource<Spec, Status>,
): Promise<void> {
  const { namespace, name, generation } = o.metadata;
  const seen = `${namespace}/${name}@${generation}`;
  if (o.status?.observedGeneration === generation || reportedEdits.has(seen)) return;
  reportedEdits.add(seen);
  await ctx.events.record(
    o as CustomResource,
    "Warning",
    "SpecChangeIgnored",
    `this ${o.kind} already ran (${o.status?.phase}); spec changes do not run it again: create a new ${o.kind} to run again`,
  );
}
