// The console's pages, rendered on the server from what the catalog read: the catalog of backup
// sets, the coverage timeline (inline SVG, with the same facts in a table beside it), and the
// point-in-time picker. Pure functions from data to HTML; no script, no external resource.
import type { DryRunResult } from "../restore/dry-run.ts";
import type { AchievedRpo, CoverageGap, CoverageSpan, PartitionTimeline } from "./coverage.ts";
import { formatBytes, formatCount, formatDuration, formatInstant, formatTime, Html, html, query } from "./html.ts";
import { chainGroups, type LocationView, rpoOf, type SetRow } from "./location.ts";
import type { PickerForm } from "./picker.ts";

const style = `
:root { color-scheme: light; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #57606a; --line: #d0d7de; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328; background: #fff; }
header { background: #24292f; color: #fff; padding: .6rem 1.2rem; display: flex; gap: 1.5rem; align-items: baseline; }
header a { color: #fff; } header strong { font-size: 1.05rem; }
main { padding: 1rem 1.2rem 3rem; }
h1 { font-size: 1.4rem; margin: .4rem 0 .8rem; } h2 { font-size: 1.15rem; margin: 1.6rem 0 .4rem; } h3 { font-size: 1rem; margin: 1.2rem 0 .3rem; }
table { border-collapse: collapse; margin: .4rem 0 1rem; }
th, td { border-bottom: 1px solid var(--line); padding: .25rem .6rem; text-align: left; vertical-align: top; }
table.sets td:nth-child(-n+5), table.sets td.validation, table.plan td { white-space: nowrap; } .scroll { overflow-x: auto; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.chain th { background: #f6f8fa; font-weight: 600; }
.muted { color: var(--muted); }
.state { font-weight: 600; padding: 0 .35rem; border-radius: 3px; }
.state-complete, .state-legacy { color: var(--ok); } .state-failed { color: #fff; background: var(--bad); }
.phase { font-weight: 600; } .phase-Completed { color: var(--ok); } .phase-Failed, .phase-RolledBack, .outcome-failed { color: var(--bad); } .phase-Running { color: #0550ae; } .outcome-warning { color: var(--warn); }
.state-cancelled { color: var(--muted); border: 1px solid var(--muted); } .state-running { color: #0550ae; }
.problems li, .error, .verdict-fail, .verdict-unreadable { color: var(--bad); } .verdict-pass { color: var(--ok); } .verdict-warn { color: var(--warn); } .warning { color: var(--warn); }
td.validation .why { display: block; white-space: normal; max-width: 26rem; overflow-wrap: anywhere; font-size: .85em; }
svg.timeline { display: block; max-width: 100%; height: auto; }
svg .span-usable { fill: #2da44e; } svg .span-usable.alt { fill: #4ac26b; }
svg .span-incomplete { fill: #afb8c1; } svg .span-failed { fill: #ff8182; }
svg .lane text { fill: var(--muted); }
svg .gap { fill: url(#gap-hatch); stroke: var(--bad); stroke-width: 1; }
svg .axis { stroke: var(--muted); } svg text { font: 11px system-ui, sans-serif; fill: #1f2328; }
svg text.gap-label { fill: var(--bad); font-weight: 600; }
pre { background: #f6f8fa; border: 1px solid var(--line); padding: .8rem; overflow: auto; }
form.picker fieldset { border: 1px solid var(--line); margin: 0 0 .8rem; }
form.picker label { display: inline-block; min-width: 11rem; }
.legend span { margin-right: 1rem; } .swatch { display: inline-block; width: .9rem; height: .9rem; vertical-align: -2px; margin-right: .3rem; }
`;

export function layout(title: string, body: Html): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · kafka-backup console</title>
<style>${new Html(style)}</style>
</head>
<body>
<header><strong>kafka-backup console</strong><nav aria-label="pages"><a href="/">Catalog</a> · <a href="/coverage">Coverage</a> · <a href="/restore">Point-in-time restore</a> · <a href="/operations">Restores and validations</a></nav><span class="muted">read-only</span></header>
<main>
${body}
</main>
</body>
</html>
`.text;
}

const stateBadge = (state: string) => html`<span class="state state-${state}">${state}</span>`;

function rpoLine(rpo: AchievedRpo): Html {
  if (rpo.worstMs === undefined)
    return html`<p class="rpo warning">Achieved RPO: no complete backup set in the last ${rpo.windowDays} days.</p>`;
  return html`<p class="rpo">Achieved RPO over the last ${rpo.windowDays} days: <strong>${formatDuration(rpo.worstMs)}</strong>
 <span class="muted">(the longest time between two complete sets, up to ${rpo.endingAt === "now" ? "now" : rpo.endingAt}; ${rpo.sets} complete sets in the window)</span></p>`;
}

function statusLine(view: LocationView): Html | undefined {
  const s = view.location.status;
  if (!s) return undefined;
  return html`<p class="status">KafkaBackup phase <strong>${s.phase ?? "unknown"}</strong>${s.suspended ? " (suspended)" : ""}${
    s.schedule ? html`, schedule <code>${s.schedule}</code>` : ""
  }${s.lastBackupTime ? html`, last backup ${s.lastBackupTime}` : ""}${
    s.nextScheduledBackup ? html`, next scheduled run ${s.nextScheduledBackup}` : ""
  }${s.lastSuccessfulBackupId ? html`, last successful set ${s.lastSuccessfulBackupId}` : ""}.</p>`;
}

/** The evidence signature beside a verdict: verified, invalid (red), stored but not verified, or nothing. */
function signatureNote(v: NonNullable<SetRow["validation"]>): Html | string {
  const title = v.signatureMessage ?? "";
  switch (v.signature) {
    case "verified":
      return html` <span class="signature signature-verified" title="${title}">(signature verified)</span>`;
    case "invalid":
      return html` <span class="signature signature-invalid error">(signature INVALID)</span><span class="why error">${title}</span>`;
    case "unverified":
      return html` <span class="signature signature-unverified muted">(signed, not verified)</span><span class="why muted">${title}</span>`;
    default:
      return "";
  }
}

function setRowHtml(s: SetRow): Html {
  const link = s.chain ? (s.chain.base ? `+${s.chain.sequence} on ${s.chain.base}` : "full") : "";
  return html`<tr data-backup-id="${s.backupId}" data-state="${s.state}">
<td>${s.backupId}</td>
<td>${stateBadge(s.state)}${s.usable ? "" : html` <span class="muted">(not a restore point)</span>`}</td>
<td>${link}</td>
<td>${formatTime(s.createdAt)}</td>
<td>${formatTime(s.finishedAt ?? s.updatedAt)}</td>
<td class="n records">${formatCount(s.records)}</td>
<td class="n">${formatBytes(s.storedBytes)}</td>
<td class="n">${formatCount(s.segments)}</td>
<td class="n">${s.topics} / ${s.partitions}</td>
<td>${s.codec}</td>
<td>${s.encryption ?? "none"}</td>
<td class="n">${s.gaps ? html`<span class="warning">${s.gaps}</span>` : "0"}</td>
<td class="validation">${
    s.validation
      ? html`<span class="verdict verdict-${s.validation.result.split(":")[0]?.toLowerCase()}">${s.validation.result}</span>${signatureNote(
          s.validation,
        )}${s.validation.completedAt ? html` <span class="muted">${s.validation.completedAt}</span>` : ""}`
      : html`<span class="muted">not validated</span>`
  }</td>
<td>${s.owner ? `${s.owner.namespace}/${s.owner.name}` : ""}${s.writer === "kafka-backup-rs" ? " (Rust engine)" : ""}</td>
</tr>`;
}

function setsTable(view: LocationView): Html {
  if (!view.sets.length) return html`<p class="muted">No backup sets in ${view.where}.</p>`;
  return html`<div class="scroll"><table class="sets">
<thead><tr><th scope="col">Backup set</th><th scope="col">State</th><th scope="col">Chain</th><th scope="col">Created (UTC)</th><th scope="col">Finished / updated</th>
<th scope="col" class="n">Records</th><th scope="col" class="n">Stored</th><th scope="col" class="n">Segments</th><th scope="col" class="n">Topics / partitions</th>
<th scope="col">Codec</th><th scope="col">Encryption</th><th scope="col" class="n">Gaps</th><th scope="col">Validation</th><th scope="col">Owner</th></tr></thead>
${chainGroups(view.sets).map(
  (g) =>
    html`<tbody>${
      g.chainId
        ? html`<tr class="chain"><th colspan="14" scope="rowgroup">Chain ${g.chainId} (${g.sets.length} sets)</th></tr>`
        : ""
    }${g.sets.map(setRowHtml)}</tbody>`,
)}
</table></div>`;
}

export function catalogPage(views: Array<LocationView | { name: string; error: string }>): string {
  const body = html`<h1>Backup catalog</h1>
${views.length ? "" : html`<p class="muted">No storage locations: no KafkaBackup is visible.</p>`}
${views.map((v) => {
  if ("error" in v)
    return html`<section class="location"><h2>${v.name}</h2><p class="error">Could not read this location: ${v.error}</p></section>`;
  const name = v.location.name;
  const rpo = rpoOf(v);
  return html`<section class="location" data-location="${name}">
<h2>${name}</h2>
<p class="muted">${v.where} · read ${formatTime(v.readAt)} · <a href="/coverage${query({ location: name })}">coverage timeline</a> · <a href="/restore${query({ location: name })}">restore to a point in time</a></p>
${statusLine(v)}
${rpoLine(rpo)}
${v.unreadable.length ? html`<ul class="problems">${v.unreadable.map((u) => html`<li>${u.backupId}: unreadable manifest: ${u.message}</li>`)}</ul>` : ""}
${setsTable(v)}
</section>`;
})}`;
  return layout("Catalog", body);
}

// ── Coverage timeline ──────────────────────────────────────────────────────────────────────────

/** Geometry of the timeline's offset axis, shared by the drawing and the tests that check it. */
export const timelineGeometry = { width: 960, left: 170, right: 10 } as const;

/** The x coordinate of an offset on a partition's line. */
export function offsetX(line: Pick<PartitionTimeline, "from" | "to">, offset: number): number {
  const { width, left, right } = timelineGeometry;
  const span = Math.max(1, line.to - line.from);
  return Math.round((left + ((offset - line.from) / span) * (width - left - right)) * 10) / 10;
}

const spanTitle = (s: CoverageSpan) =>
  `${s.backupId} (${s.state}): offsets ${s.from}–${s.to - 1}, ${s.records} records` +
  (s.minTimestamp !== undefined ? `, ${formatTime(s.minTimestamp)} to ${formatTime(s.maxTimestamp)}` : "");
const gapTitle = (g: CoverageGap) =>
  `gap: offsets ${g.start}–${g.end - 1} (${g.end - g.start}) ${g.kind === "recorded" ? `lost to ${g.reason}, recorded by ${g.backupId}` : g.reason}`;

/** Lanes of a partition's drawing: one per chain (or set outside a chain) holding restorable data, then one for incomplete sets. */
export function timelineLanes(line: PartitionTimeline): Array<{ label: string; spans: CoverageSpan[]; incomplete: boolean }> {
  const lanes = new Map<string, CoverageSpan[]>();
  for (const s of line.spans.filter((x) => x.usable)) {
    const key = s.chainId ?? s.backupId;
    lanes.set(key, [...(lanes.get(key) ?? []), s]);
  }
  const result = [...lanes.entries()].map(([key, spans]) => ({
    label: spans.length > 1 || spans[0]?.chainId ? `chain ${key}` : key,
    spans,
    incomplete: false,
  }));
  const incomplete = line.spans.filter((x) => !x.usable);
  if (incomplete.length) result.push({ label: "incomplete sets", spans: incomplete, incomplete: true });
  return result;
}

const laneHeight = 22;

export function timelineSvg(line: PartitionTimeline, id: string): Html {
  const { width, left } = timelineGeometry;
  const x = (o: number) => offsetX(line, o);
  const w = (a: number, b: number) => Math.max(1.5, Math.round((x(b) - x(a)) * 10) / 10);
  const lanes = timelineLanes(line);
  const laneOf = new Map(lanes.flatMap((l, i) => l.spans.map((s) => [s.backupId, i] as const)));
  const axisY = 6 + lanes.length * laneHeight + 4;
  const height = axisY + 22;
  const usable = line.spans.filter((s) => s.usable);
  const summary = `${line.topic} partition ${line.partition}: offsets ${line.from} to ${line.to - 1}; ${lanes
    .map((l) => `${l.label}: ${l.spans.map((s) => `${s.backupId} ${s.from}–${s.to - 1}`).join(", ")}`)
    .join("; ")}; ${line.gaps.length ? line.gaps.map(gapTitle).join("; ") : "no gaps"}`;
  return html`<svg class="timeline" role="img" aria-labelledby="${id}-t ${id}-d" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" data-from="${line.from}" data-to="${line.to}">
<title id="${id}-t">${line.topic}/${line.partition} coverage: ${usable.length} restorable sets, ${line.gaps.length} gaps</title><desc id="${id}-d">${summary}</desc>
<defs><pattern id="gap-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffebe9"/><rect width="3" height="6" fill="#cf222e"/></pattern></defs>
${lanes.map(
  (lane, i) =>
    html`<g class="lane${lane.incomplete ? " lane-incomplete" : ""}"><text x="4" y="${6 + i * laneHeight + 13}">${
      lane.label.length > 26 ? `${lane.label.slice(0, 25)}…` : lane.label
    }</text>
${lane.spans.map(
  (s, k) =>
    html`<rect class="span ${s.usable ? `span-usable${k % 2 ? " alt" : ""}` : `span-incomplete${s.state === "failed" ? " span-failed" : ""}`}" data-backup-id="${s.backupId}" data-from="${s.from}" data-to="${s.to}" x="${x(s.from)}" y="${6 + i * laneHeight}" width="${w(s.from, s.to)}" height="${laneHeight - 6}"><title>${spanTitle(s)}</title></rect>`,
)}</g>`,
)}
<line class="axis" x1="${left}" x2="${x(line.to)}" y1="${axisY}" y2="${axisY}"/>
${line.gaps.map((g) => {
  // A recorded gap sits in the lane of the set that recorded it; offsets no complete set holds cross every lane.
  const lane = g.kind === "recorded" && g.backupId !== undefined ? laneOf.get(g.backupId) : undefined;
  const y = lane === undefined ? 2 : 6 + lane * laneHeight - 3;
  const h = lane === undefined ? axisY - 2 : laneHeight;
  return html`<rect class="gap gap-${g.kind}" data-start="${g.start}" data-end="${g.end}" x="${x(g.start)}" y="${y}" width="${w(g.start, g.end)}" height="${h}"><title>${gapTitle(g)}</title></rect>
<line class="gap-tick" x1="${x(g.start)}" x2="${x(g.start)}" y1="${axisY - 4}" y2="${axisY + 4}" stroke="#cf222e"/>
<text class="gap-label" x="${x(g.start)}" y="${axisY + 16}" text-anchor="middle">gap ${g.start}–${g.end - 1}</text>`;
})}
<text x="${left}" y="${axisY + 16}">${line.from}</text>
<text x="${x(line.to)}" y="${axisY + 16}" text-anchor="end">${line.to - 1}</text>
</svg>`;
}

function timelineTable(line: PartitionTimeline): Html {
  return html`<table class="coverage-table" data-topic="${line.topic}" data-partition="${line.partition}">
<thead><tr><th scope="col">Held by</th><th scope="col">State</th><th scope="col" class="n">Offsets</th><th scope="col" class="n">Records</th><th scope="col">Record times (UTC)</th></tr></thead>
<tbody>
${line.spans.map(
  (s) =>
    html`<tr><td>${s.backupId}</td><td>${stateBadge(s.state)}</td><td class="n">${s.from}–${s.to - 1}</td><td class="n">${formatCount(s.records)}</td><td>${
      s.minTimestamp !== undefined ? `${formatTime(s.minTimestamp)} – ${formatTime(s.maxTimestamp)}` : ""
    }</td></tr>`,
)}
${line.gaps.map(
  (g) =>
    html`<tr class="gap-row" data-start="${g.start}" data-end="${g.end}"><td colspan="2" class="error">gap (${g.kind === "recorded" ? g.reason : "missing"})</td><td class="n error">${g.start}–${g.end - 1}</td><td class="n error">${formatCount(g.end - g.start)} offsets</td><td>${
      g.kind === "recorded" ? `recorded by ${g.backupId}` : g.reason
    }</td></tr>`,
)}
</tbody></table>`;
}

export function coveragePage(view: LocationView, lines: PartitionTimeline[], rpo: AchievedRpo, names: string[]): string {
  const name = view.location.name;
  const body = html`<h1>Coverage: ${name}</h1>
${locationSwitch("/coverage", name, names)}
<p class="muted">${view.where}. Per topic and partition, the offsets each backup set holds (one row per chain, incomplete sets on the last row), and the gaps: offsets lost to retention before a run read them, or held by no complete set.</p>
<p class="legend"><span><svg class="swatch" aria-hidden="true"><rect class="span-usable" width="14" height="14" fill="#2da44e"/></svg>restorable set</span>
<span><svg class="swatch" aria-hidden="true"><rect width="14" height="14" fill="#afb8c1"/></svg>incomplete set (cancelled, running)</span>
<span><svg class="swatch" aria-hidden="true"><rect width="14" height="14" fill="#ff8182"/></svg>failed set</span>
<span><svg class="swatch" aria-hidden="true"><rect width="14" height="14" fill="#cf222e"/></svg>gap</span></p>
${rpoLine(rpo)}
${lines.length ? "" : html`<p class="muted">Nothing backed up here yet.</p>`}
${lines.map(
  (line, i) => html`<section class="partition" data-topic="${line.topic}" data-partition="${line.partition}">
<h3>${line.topic} · partition ${line.partition} <span class="muted">offsets ${line.from}–${line.to - 1}${
    line.gaps.length ? html`, <span class="error">${line.gaps.length} gap${line.gaps.length > 1 ? "s" : ""}</span>` : ", no gaps"
  }</span></h3>
${timelineSvg(line, `tl${i}`)}
${timelineTable(line)}
</section>`,
)}`;
  return layout(`Coverage ${name}`, body);
}

function locationSwitch(path: string, current: string, names: string[]): Html | string {
  if (names.length < 2) return "";
  return html`<p>Location: ${names.map((n, i) => html`${i ? " · " : ""}${n === current ? html`<strong>${n}</strong>` : html`<a href="${path}${query({ location: n })}">${n}</a>`}`)}</p>`;
}

// ── Point-in-time picker ───────────────────────────────────────────────────────────────────────

export interface PickerView {
  view: LocationView;
  names: string[];
  form: PickerForm;
  errors: string[];
  /** The set the form's point in time (or name) chose, and a warning when it is not complete. */
  chosen?: { backupId?: string; warning?: string };
  result?: DryRunResult;
  manifestYaml?: string;
  /** Why the dry run could not run (the target cluster, the key, the plan). */
  failure?: string;
}

export function pickerPage(p: PickerView): string {
  const { view, form } = p;
  const name = view.location.name;
  const topics = [...new Set(view.manifests.flatMap((m) => m.topics.map((t) => t.name)))].sort();
  const restorable = view.sets.filter((s) => s.usable).sort((a, b) => b.createdAt - a.createdAt);
  const body = html`<h1>Restore to a point in time: ${name}</h1>
${locationSwitch("/restore", name, p.names)}
<p class="muted">Choose topics and a time: the page runs the restore's dry run (the one <code>kafka-backup restore --dry-run</code> runs; it reads every planned segment and checks the target, and writes nothing) and gives the KafkaRestore to apply. The console never applies it.</p>
<form class="picker" method="get" action="/restore">
<input type="hidden" name="location" value="${name}"><input type="hidden" name="shown" value="1">
<fieldset><legend>Topics (none ticked: all) and where they go</legend>
${topics.length ? "" : html`<p class="muted">No topics backed up here.</p>`}
${topics.map(
  (
    t,
  ) => html`<div><label><input type="checkbox" name="topic" value="${t}"${form.topics.includes(t) ? new Html(" checked") : ""}> ${t}</label>
 → <label class="target">target topic <input type="text" name="target.${t}" value="${form.targets[t] ?? t}" size="40" aria-label="target topic for ${t}"></label></div>`,
)}
<div><label><input type="checkbox" name="createTopics"${form.createTopics ? new Html(" checked") : ""}> create missing target topics</label></div>
</fieldset>
<fieldset><legend>When</legend>
<div><label for="at">Point in time (UTC)</label> <input id="at" type="text" name="at" value="${form.at !== undefined ? formatInstant(form.at) : ""}" placeholder="2026-12-03T09:30:00Z" size="26"> <span class="muted">records up to it, inclusive; empty: everything</span></div>
<div><label for="from">From (optional)</label> <input id="from" type="text" name="from" value="${form.from !== undefined ? formatInstant(form.from) : ""}" size="26"></div>
<div><label for="endOffset">Up to offset (optional)</label> <input id="endOffset" type="text" name="endOffset" inputmode="numeric" value="${form.endOffset ?? ""}" size="14"> <span class="muted">in every partition of the ticked topics</span></div>
<div><label for="backupId">Backup set</label> <select id="backupId" name="backupId"><option value="">chosen by the point in time</option>${view.sets.map(
    (s) =>
      html`<option value="${s.backupId}"${form.backupId === s.backupId ? new Html(" selected") : ""}>${s.backupId} (${s.state}, ${formatTime(s.finishedAt ?? s.updatedAt)})</option>`,
  )}</select></div>
<div><label for="name">KafkaRestore name</label> <input id="name" type="text" name="name" value="${form.name ?? ""}" placeholder="generated" size="40"></div>
</fieldset>
<button type="submit" name="plan" value="1">Plan the restore (dry run)</button>
</form>
${
  restorable.length
    ? html`<p class="muted">Restore points: ${restorable
        .slice(0, 12)
        .map(
          (s, i) =>
            html`${i ? " · " : ""}<a href="/restore${query({ location: name, at: formatInstant(s.finishedAt ?? s.updatedAt), plan: "1" })}">${s.backupId}</a>`,
        )}</p>`
    : html`<p class="warning">No complete backup set here: nothing to restore unnamed.</p>`
}
${p.errors.length ? html`<ul class="problems" role="alert">${p.errors.map((e) => html`<li>${e}</li>`)}</ul>` : ""}
${p.chosen ? chosenHtml(p.chosen) : ""}
${p.failure ? html`<p class="error" role="alert">The dry run could not run: ${p.failure}</p>` : ""}
${p.result ? planHtml(p.result) : ""}
${
  p.manifestYaml
    ? html`<h2>KafkaRestore</h2>
<p class="muted">Copy it, or save it and <code>kubectl apply -f</code> it. With the CLI, <code>kafka-backup restore --dry-run -c &lt;file&gt;</code> prints the numbers above.${
        view.location.encryptedNote && p.result && view.sets.some((s) => s.backupId === p.result?.backupId && s.encryption)
          ? html` <span class="warning">${view.location.encryptedNote}</span>`
          : ""
      }</p>
<pre id="manifest"><code>${p.manifestYaml}</code></pre>`
    : ""
}`;
  return layout(`Restore ${name}`, body);
}

function chosenHtml(c: NonNullable<PickerView["chosen"]>): Html {
  if (!c.backupId) return html`<p class="error">No complete backup set serves that point in time.</p>`;
  return html`<p class="chosen">Reads backup set <strong data-backup-id="${c.backupId}">${c.backupId}</strong> (with the sets of its chain before it).${
    c.warning ? html` <span class="warning">${c.warning}</span>` : ""
  }</p>`;
}

function planHtml(r: DryRunResult): Html {
  return html`<h2>What would be restored</h2>
<p class="plan-total"><strong data-records-total="${r.recordsTotal}">${formatCount(r.recordsTotal)}</strong> records from backup ${r.backupId}; ${formatCount(r.segmentsChecked)} segments read and checked.</p>
${
  r.problems.length
    ? html`<h3 class="error">Problems (the restore would not run)</h3><ul class="problems">${r.problems.map((x) => html`<li>${x}</li>`)}</ul>`
    : html`<p class="ok">No problems: the restore would run.</p>`
}
<table class="plan">
<thead><tr><th scope="col">Source</th><th scope="col">Target</th><th scope="col" class="n">Records</th><th scope="col" class="n">Offsets</th><th scope="col">From sets</th></tr></thead>
<tbody>
${r.topics.map((t) =>
  t.partitions.map(
    (p) =>
      html`<tr data-topic="${t.sourceTopic}" data-partition="${p.partition}" data-records="${p.records}">
<td>${t.sourceTopic}/${p.partition}</td><td>${t.targetTopic}/${p.targetPartition === -1 ? "by key" : p.targetPartition}${t.exists ? " (exists)" : ""}</td>
<td class="n">${formatCount(p.records)}</td><td class="n">${p.firstOffset !== undefined ? `${p.firstOffset}–${p.lastOffset}` : ""}</td>
<td>${p.sets.map((s, i) => html`${i ? ", " : ""}<span data-set="${s.backupId}" data-set-records="${s.records}">${s.backupId} (${formatCount(s.records)})</span>`)}</td></tr>`,
  ),
)}
</tbody></table>`;
}

/** A page for errors (bad requests, an unknown location). */
export function errorPage(title: string, message: string): string {
  return layout(title, html`<h1>${title}</h1><p class="error">${message}</p>`);
}
