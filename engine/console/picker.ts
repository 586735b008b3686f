// The point-in-time picker's decisions: what the form asks for, which backup set serves that
// point in time, and the KafkaRestore it amounts to. The dry run then runs exactly that
// KafkaRestore's options (restoreOptionsFromSpec, as the CLI's `restore --dry-run` does), so the
// numbers on the page are the ones the CLI prints for the manifest the page shows. Pure.
import { stringify } from "yaml";
import { chooseSet, type SetChoice, type SetInfo } from "../backupset/sets.ts";
import type { RestoreSpec } from "../restore/spec.ts";
import type { ConsoleLocation } from "./location.ts";

export interface PickerForm {
  /** Source topics to restore (none chosen: every topic of the set). */
  topics: string[];
  /** The point in time: records up to it, inclusive (pitr.endTime). */
  at?: number;
  /** Optionally, records from this time on (pitr.startTime). */
  from?: number;
  /** Optionally, only offsets up to this one, in every partition of the chosen topics (offsetBounds). */
  endOffset?: number;
  /** Source topic → target topic, where they differ. */
  targets: Record<string, string>;
  createTopics: boolean;
  /** A set named in the form; otherwise the one the point in time chooses. */
  backupId?: string;
  /** The KafkaRestore's name. */
  name?: string;
}

export interface ParsedForm {
  form: PickerForm;
  /** Whether the form was sent (a plan is asked for), as opposed to the page's first view. */
  submitted: boolean;
  errors: string[];
}

const topicName = /^[a-zA-Z0-9._-]{1,249}$/;
const resourceName = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A time as people type it: RFC 3339, a datetime-local value (read as UTC), or epoch milliseconds. */
export function parseInstant(text: string): number | undefined {
  const t = text.trim();
  if (!t) return undefined;
  if (/^\d{10,}$/.test(t)) return Number(t);
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(:\d{2}(\.\d+)?)?)(Z|[+-]\d{2}:\d{2})?$/i.exec(t);
  if (!m) return Number.NaN;
  const ms = Date.parse(`${m[1]}T${m[2]}${m[3] ? "" : ":00"}${m[5] ?? "Z"}`);
  return ms;
}

export function parsePickerForm(q: URLSearchParams): ParsedForm {
  const errors: string[] = [];
  const topics = q.getAll("topic").filter(Boolean);
  for (const t of topics) if (!topicName.test(t)) errors.push(`topic "${t}" is not a Kafka topic name`);
  const instant = (field: string, label: string) => {
    const v = parseInstant(q.get(field) ?? "");
    if (v !== undefined && Number.isNaN(v)) {
      errors.push(`${label}: "${q.get(field)}" is not a time (RFC 3339, e.g. 2026-12-03T09:30:00Z)`);
      return undefined;
    }
    return v;
  };
  const at = instant("at", "point in time");
  const from = instant("from", "from");
  if (at !== undefined && from !== undefined && from > at) errors.push("from: after the point in time");
  const endOffsetText = (q.get("endOffset") ?? "").trim();
  let endOffset: number | undefined;
  if (endOffsetText) {
    endOffset = Number(endOffsetText);
    if (!Number.isSafeInteger(endOffset) || endOffset < 0) {
      errors.push(`up to offset: "${endOffsetText}" is not an offset`);
      endOffset = undefined;
    } else if (!topics.length) errors.push("up to offset: choose the topics it applies to");
  }
  const targets: Record<string, string> = {};
  for (const [k, v] of q.entries()) {
    if (!k.startsWith("target.")) continue;
    const source = k.slice("target.".length);
    const target = v.trim();
    if (!target || target === source) continue;
    if (!topicName.test(target)) errors.push(`target of ${source}: "${target}" is not a Kafka topic name`);
    else targets[source] = target;
  }
  const name = (q.get("name") ?? "").trim();
  if (name && (!resourceName.test(name) || name.length > 253)) errors.push(`name: "${name}" is not a Kubernetes object name`);
  const backupId = (q.get("backupId") ?? "").trim();
  return {
    form: {
      topics,
      ...(at !== undefined ? { at } : {}),
      ...(from !== undefined ? { from } : {}),
      ...(endOffset !== undefined ? { endOffset } : {}),
      targets,
      // A checkbox sends nothing when unticked: the form's hidden field says it was shown.
      createTopics: q.has("shown") ? q.get("createTopics") === "on" : true,
      ...(backupId ? { backupId } : {}),
      ...(name ? { name } : {}),
    },
    submitted: q.has("plan"),
    errors,
  };
}

/** The set a restore to this point in time reads: the one named, else the oldest usable set made at or after it (its chain holds all before). */
export function chooseRestoreSet(form: PickerForm, sets: readonly SetInfo[]): SetChoice {
  return chooseSet(form.backupId, sets, form.at);
}

/** The KafkaRestore spec the form amounts to, reading `backupId` at `location`. */
export function restoreSpecOf(location: ConsoleLocation, form: PickerForm, backupId: string): RestoreSpec {
  const topics = form.topics;
  const mapping = Object.fromEntries(
    Object.entries(form.targets).filter(([source]) => !topics.length || topics.includes(source)),
  );
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    backupRef: location.backupRef(backupId) as RestoreSpec["backupRef"],
    kafkaCluster: location.kafkaCluster,
    ...(topics.length ? { topics } : {}),
    ...(form.at !== undefined || form.from !== undefined
      ? {
          pitr: {
            ...(form.from !== undefined ? { startTime: iso(form.from) } : {}),
            ...(form.at !== undefined ? { endTime: iso(form.at) } : {}),
          },
        }
      : {}),
    ...(form.endOffset !== undefined ? { offsetBounds: topics.map((topic) => ({ topic, endOffset: form.endOffset })) } : {}),
    ...(Object.keys(mapping).length ? { topicMapping: mapping } : {}),
    createTopics: form.createTopics,
  };
}

/** A name for the KafkaRestore: the form's, else the location's last name part and the point in time. */
export function restoreName(location: ConsoleLocation, form: PickerForm, now: number): string {
  if (form.name) return form.name;
  const base = (location.name.split("/").at(-1) ?? "backup").toLowerCase().replace(/[^a-z0-9-]+/g, "-");
  const at = new Date(form.at ?? now).toISOString();
  const stamp = `${at.slice(0, 10).replace(/-/g, "")}-${at.slice(11, 19).replace(/:/g, "")}`;
  return `${base.replace(/^-+|-+$/g, "").slice(0, 40) || "backup"}-restore-${stamp}`;
}

/** The KafkaRestore manifest to copy or `kubectl apply`: the spec the dry run ran, as YAML. */
export function restoreManifestYaml(location: ConsoleLocation, spec: RestoreSpec, name: string): string {
  const manifest = {
    apiVersion: "kafka.oso.sh/v1alpha1",
    kind: "KafkaRestore",
    metadata: { name, ...(location.namespace ? { namespace: location.namespace } : {}) },
    spec,
  };
  return stringify(manifest, { lineWidth: 0 });
}
