// Resources that run once (offset reset and rollback): a spec edited after the run finished is
// not run again. The edit is acknowledged once — observedGeneration moves to it, with a
// SpecChangeIgnored Event — the way the KafkaRestore controller treats an edited finished restore.
import type { Context } from "./controller.ts";
import type { CustomResource } from "./resource.ts";

export async function ignoreEditOfFinished<
  Spec,
  Status extends { observedGeneration?: number; phase?: string; message?: string },
>(ctx: Context<Spec, Status>, o: CustomResource<Spec, Status>): Promise<void> {
  if (o.status?.observedGeneration === undefined || o.status.observedGeneration === o.metadata.generation) return;
  const message = `this ${o.kind} has finished (${o.status.phase}); spec changes do not run it again: create a new ${o.kind} to run again`;
  await ctx.resources.patchStatus(o, { observedGeneration: o.metadata.generation, message } as Partial<Status>);
  await ctx.events.record(o as CustomResource, "Normal", "SpecChangeIgnored", message);
}
