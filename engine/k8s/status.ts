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
