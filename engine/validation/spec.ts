// From a KafkaBackupValidation spec to a run's options: the one mapping the controller and the
// CLI share.
import type { KafkaBackupValidationSpec } from "../../crds/generated/types.ts";
import { RestorePlanError, timeWindow } from "../restore/plan.ts";
import type { TimeWindow } from "./checks.ts";

export class ValidationSpecError extends Error {
  readonly reason = "InvalidSpec";
  override name = "ValidationSpecError";
}

/** `spec.restored`: the cluster holds a restore (mapping and window) rather than the source. */
export function restoredFromSpec(
  spec: Pick<KafkaBackupValidationSpec, "restored">,
): { topicMapping?: Record<string, string>; window?: TimeWindow } | undefined {
  if (!spec.restored) return undefined;
  let window: TimeWindow;
  try {
    window = timeWindow(spec.restored.pitr);
  } catch (err) {
    if (err instanceof RestorePlanError) throw new ValidationSpecError(err.message.replace("spec.pitr", "spec.restored.pitr"));
    throw err;
  }
  return { topicMapping: spec.restored.topicMapping ?? {}, window };
}

/** The checks that will run, for status and for the "at least one" rule the CRD also enforces. */
export function enabledChecks(spec: Pick<KafkaBackupValidationSpec, "checks">): string[] {
  const c = spec.checks ?? {};
  const on = (x: { enabled?: boolean } | undefined) => x !== undefined && x.enabled !== false;
  return [
    ...(on(c.messageCount) ? ["messageCount"] : []),
    ...(on(c.offsetRange) ? ["offsetRange"] : []),
    ...(on(c.consumerGroupOffsets) ? ["consumerGroupOffsets"] : []),
    ...(on(c.deepIntegrity) ? ["deepIntegrity"] : []),
    ...(c.customWebhooks ?? []).map((w) => `webhook:${w.name}`),
  ];
}

export function checkSpec(spec: KafkaBackupValidationSpec): void {
  if (!enabledChecks(spec).length) throw new ValidationSpecError("checks: at least one validation check must be enabled");
  if (spec.checks.consumerGroupOffsets && spec.checks.consumerGroupOffsets.enabled !== false && !spec.kafkaCluster)
    throw new ValidationSpecError("kafkaCluster is required when checks.consumerGroupOffsets is enabled");
  restoredFromSpec(spec);
}
