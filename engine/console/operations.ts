// The restores and validations page: the KafkaRestores and KafkaBackupValidations the console may
// read, as their status carries them (phase, progress, outcome, conditions; a completed restore's
// offset mapping report and consumer-group translations). A pure function from the objects to
// HTML: it shows status and the backup each one names, never a spec's cluster or storage block.
import type {
  Condition,
  KafkaBackupValidationSpec,
  KafkaBackupValidationStatus,
  KafkaRestoreSpec,
  KafkaRestoreStatus,
} from "../../crds/generated/types.ts";
import type { OffsetMappingReport } from "../restore/offset-mapping.ts";
import { formatBytes, formatCount, type Html, html } from "./html.ts";
import { layout } from "./pages.ts";

interface Listed<Spec, Status> {
  metadata: { name?: string; namespace?: string };
  spec?: Spec;
  status?: Status;
}
export type ListedRestore = Listed<Pick<KafkaRestoreSpec, "backupRef">, KafkaRestoreStatus>;
export type ListedValidation = Listed<Pick<KafkaBackupValidationSpec, "backupRef">, KafkaBackupValidationStatus>;

/** What the page shows: each kind listed, or why it could not be. */
export interface OperationsView {
  restores: ListedRestore[] | { error: string };
  validations: ListedValidation[] | { error: string };
  /** Completed restores' offset mapping reports, read from the backup's storage, by "namespace/name". */
  mappings?: Map<string, OffsetMappingReport | { error: string }>;
}

/** The backup set and restore a status.offsetMappingPath names (`…/{backupId}/restores/{restoreId}/offset-mapping.json`). */
export function offsetMappingRef(path: string): { backupId: string; restoreId: string } | undefined {
  const m = /([^/]+)\/restores\/([^/]+)\/offset-mapping\.json$/.exec(path);
  return m ? { backupId: m[1] as string, restoreId: m[2] as string } : undefined;
}

/** Rows past this are summarised: a restore of thousands of partitions stays a page. */
const mappingRows = 100;

function mappingHtml(report: OffsetMappingReport | { error: string } | undefined): Html | string {
  if (!report) return "";
  if ("error" in report) return html`<p class="error">Offset mapping report: ${report.error}</p>`;
  const partitions = [...report.partitions].sort(
    (a, b) => a.sourceTopic.localeCompare(b.sourceTopic) || a.sourcePartition - b.sourcePartition,
  );
  const translations = report.consumerGroups.flatMap((g) => g.source.map((src, i) => ({ group: g, src, target: g.target[i] })));
  const more = (n: number, what: string) =>
    n > mappingRows ? html`<p class="muted">and ${formatCount(n - mappingRows)} more ${what} in the report</p>` : "";
  return html`<table class="mapping"><thead><tr><th>Source partition</th><th>Target partition</th><th class="n">Records</th><th>Source offsets</th><th>Target offsets</th><th class="n">Runs</th></tr></thead><tbody>
${partitions
  .slice(0, mappingRows)
  .map(
    (p) =>
      html`<tr data-source="${p.sourceTopic}/${p.sourcePartition}"><td>${p.sourceTopic}/${p.sourcePartition}</td><td>${p.targetTopic}/${p.targetPartition}</td><td class="n">${formatCount(p.records)}</td><td>${p.records ? `${p.sourceFirstOffset}–${p.sourceLastOffset}` : "—"}</td><td>${p.records ? `${p.targetFirstOffset}–${p.targetLastOffset}` : "—"}</td><td class="n">${p.runsTruncated ? html`<span class="warning">truncated</span>` : p.runs.length}</td></tr>`,
  )}
</tbody></table>${more(partitions.length, "partitions")}
${
  translations.length
    ? html`<table class="translations"><thead><tr><th>Consumer group</th><th>Source</th><th>Committed offset</th><th>Becomes</th></tr></thead><tbody>
${translations
  .slice(0, mappingRows)
  .map(
    (t) =>
      html`<tr data-group="${t.group.groupId}" data-source="${t.src.sourceTopic}/${t.src.sourcePartition}"><td>${t.group.groupId}</td><td>${t.src.sourceTopic}/${t.src.sourcePartition}</td><td class="n">${t.src.sourceOffset}</td><td>${t.target ? `${t.target.topic}/${t.target.partition} @ ${t.target.offset}` : html`<span class="muted">not translated</span>`}</td></tr>`,
  )}
</tbody></table>${more(translations.length, "translations")}`
    : ""
}`;
}

const objectName = (o: Listed<unknown, unknown>) => `${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`;

function backupOf(
  o: Listed<{ backupRef?: { name?: string; namespace?: string; backupId?: string } }, { backupId?: string }>,
): Html {
  const ref = o.spec?.backupRef;
  const kafkaBackup = ref?.name ? `${ref.namespace ?? o.metadata.namespace}/${ref.name}` : "storage given directly";
  const id = o.status?.backupId ?? ref?.backupId;
  return html`${kafkaBackup}${id ? html`<br><span class="muted">${id}</span>` : ""}`;
}

const phaseBadge = (phase: string | undefined) =>
  html`<span class="phase phase-${phase ?? "unknown"}">${phase ?? "unknown"}</span>`;

function conditionsHtml(conditions: Condition[] | undefined, message: string | undefined): Html {
  const listed = (conditions ?? []).map(
    (c) =>
      html`<li class="condition" data-type="${c.type}" data-status="${c.status}">${c.type}=${c.status}${c.reason ? html` (${c.reason})` : ""}${c.message && c.message !== message ? html`: ${c.message}` : ""}</li>`,
  );
  return html`${message ? html`<p class="message">${message}</p>` : ""}${listed.length ? html`<ul class="conditions">${listed}</ul>` : ""}`;
}

/** Records restored of the total, with the percentage when the status gives one. */
export function restoreProgress(s: KafkaRestoreStatus | undefined): string {
  if (s?.recordsRestored === undefined && s?.recordsTotal === undefined) {
    return s?.progressPercent === undefined ? "" : `${s.progressPercent}%`;
  }
  const of = s.recordsTotal === undefined ? "" : ` of ${formatCount(s.recordsTotal)}`;
  const percent = s.progressPercent === undefined ? "" : ` (${s.progressPercent}%)`;
  return `${formatCount(s.recordsRestored ?? 0)}${of} records${percent}`;
}

function restoreHtml(r: ListedRestore, mappings?: OperationsView["mappings"]): Html {
  const s = r.status;
  const groups = s?.consumerGroups ?? [];
  const carried = groups.filter((g) => g.committed).length;
  return html`<section class="restore" data-restore="${objectName(r)}">
<h3>${objectName(r)} ${phaseBadge(s?.phase)}</h3>
<table class="facts"><tbody>
<tr><th>Backup</th><td>${backupOf(r)}</td></tr>
<tr><th>Progress</th><td class="progress" data-records-restored="${s?.recordsRestored ?? ""}" data-records-total="${s?.recordsTotal ?? ""}">${restoreProgress(s) || html`<span class="muted">not started</span>`}${s?.bytesRestored !== undefined ? html` · ${formatBytes(s.bytesRestored)}` : ""}${s?.currentTopic && s.phase === "Running" ? html` · now ${s.currentTopic}` : ""}</td></tr>
${s?.startTime ? html`<tr><th>Started</th><td>${s.startTime}</td></tr>` : ""}
${s?.completionTime ? html`<tr><th>Ended</th><td>${s.completionTime}</td></tr>` : ""}
${s?.offsetMappingPath ? html`<tr><th>Offset mapping report</th><td class="offset-mapping"><code>${s.offsetMappingPath}</code></td></tr>` : ""}
${groups.length ? html`<tr><th>Consumer groups</th><td>${carried} of ${groups.length} carried over</td></tr>` : ""}
${s?.rollback ? html`<tr><th>Rollback snapshot</th><td><code>${s.rollback.snapshotPath}</code> · ${s.rollback.rollbackAvailable ? "available" : "no longer available"}${s.rollback.expiresAt ? html` until ${s.rollback.expiresAt}` : ""}</td></tr>` : ""}
</tbody></table>
${
  groups.length
    ? html`<table class="groups"><thead><tr><th>Consumer group</th><th>Offsets translated and committed</th><th class="n">Partitions</th><th>Why not</th></tr></thead><tbody>
${groups.map(
  (g) =>
    html`<tr data-group="${g.groupId ?? ""}" data-committed="${g.committed ? "true" : "false"}"><td>${g.groupId ?? ""}</td><td>${g.committed ? "yes" : html`<span class="error">no</span>`}</td><td class="n">${g.partitions ?? ""}</td><td>${g.error ?? ""}</td></tr>`,
)}
</tbody></table>`
    : ""
}
${mappingHtml(mappings?.get(objectName(r)))}
${conditionsHtml(s?.conditions, s?.message)}
</section>`;
}

function validationHtml(v: ListedValidation): Html {
  const s = v.status;
  const result = s?.validationResult;
  const checks =
    s?.checksTotal === undefined
      ? ""
      : `${s.checksPassed ?? 0} passed, ${s.checksFailed ?? 0} failed, ${s.checksWarned ?? 0} warned of ${s.checksTotal}`;
  return html`<section class="validation" data-validation="${objectName(v)}">
<h3>${objectName(v)} ${phaseBadge(s?.phase)} ${result ? html`<span class="verdict-${result.toLowerCase()}">${result}</span>` : ""}</h3>
<table class="facts"><tbody>
<tr><th>Backup</th><td>${backupOf(v)}</td></tr>
<tr><th>Checks</th><td class="checks">${checks || html`<span class="muted">none run yet</span>`}</td></tr>
${s?.lastValidationTime ? html`<tr><th>Last validated</th><td>${s.lastValidationTime}</td></tr>` : ""}
${s?.nextScheduledValidation ? html`<tr><th>Next</th><td>${s.nextScheduledValidation}</td></tr>` : ""}
${s?.evidenceReportPath ? html`<tr><th>Evidence report</th><td><code>${s.evidenceReportPath}</code> · ${s.evidenceReportSigned ? "signed" : "unsigned"}</td></tr>` : ""}
</tbody></table>
${
  s?.checkResults?.length
    ? html`<table class="checks"><thead><tr><th>Check</th><th>Outcome</th><th>What was found</th></tr></thead><tbody>
${s.checkResults.map(
  (c) =>
    html`<tr data-check="${c.checkName}" data-outcome="${c.outcome}"><td>${c.checkName}</td><td class="outcome-${c.outcome.toLowerCase()}">${c.outcome}</td><td>${c.message ?? ""}</td></tr>`,
)}
</tbody></table>`
    : ""
}
${conditionsHtml(s?.conditions, s?.message)}
</section>`;
}

function listHtml<T>(what: string, list: T[] | { error: string }, one: (o: T) => Html): Html {
  if (!Array.isArray(list)) return html`<p class="error">Could not list ${what}: ${list.error}</p>`;
  if (!list.length) return html`<p class="muted">No ${what}.</p>`;
  return html`${list.map(one)}`;
}

/** The page; `view` undefined when the console runs outside a cluster (kafka-backup console). */
export function operationsPage(view: OperationsView | undefined): string {
  const body = view
    ? html`<h1>Restores and validations</h1>
<h2>KafkaRestores</h2>
${listHtml("KafkaRestores", view.restores, (r) => restoreHtml(r, view.mappings))}
<h2>KafkaBackupValidations</h2>
${listHtml("KafkaBackupValidations", view.validations, validationHtml)}`
    : html`<h1>Restores and validations</h1><p class="muted">Only the console in a cluster lists KafkaRestores and KafkaBackupValidations.</p>`;
  return layout("Restores and validations", body);
}
