// The human-readable summary of a bench result: ours beside Kafka's own tools, with the ratio.
type Num = number | null | undefined;

const fmt = (n: Num, digits = 1) => (n === null || n === undefined || !Number.isFinite(n) ? "—" : n.toFixed(digits));
const ratio = (n: Num) => (n === null || n === undefined || !Number.isFinite(n) ? "—" : `${n.toFixed(2)}×`);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(" | ")} |`;
  return [
    line(header),
    `|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`,
    ...rows.map(line),
  ].join("\n");
}

// biome-ignore lint/suspicious/noExplicitAny: the result object is built and typed in main.ts
export function renderTable(r: any): string {
  const out: string[] = [];
  const c = r.baselines.consumerPerfTest;
  const p = r.baselines.producerPerfTest;
  out.push(
    `${r.data.records} records × ${r.data.valueBytes} B values (${r.data.valueMiB} MiB), ${r.data.partitions} partitions; ` +
      `${r.machine.cpus} CPUs, load ${r.machine.loadAverageAtStart.join(" ")} at start`,
  );
  const rows: string[][] = [
    ["kafka-consumer-perf-test (baseline)", fmt(c.mbPerSec), String(Math.round(c.recordsPerSec)), "—", "—", "—", "—", "1.00×"],
  ];
  for (const b of r.backup) {
    rows.push([
      `backup → ${b.target}, ${b.compression}`,
      fmt(b.mbPerSec),
      String(b.recordsPerSec),
      fmt(b.cpuSeconds),
      fmt(b.cpuSecondsPerGiB),
      fmt(b.peakRssMiB, 0),
      fmt(b.compressionRatio, 2),
      ratio(b.vsConsumerPerfTest),
    ]);
  }
  if (r.zstdBound?.mbPerSec !== undefined)
    rows.push([
      `zstd-3 compression bound (node:zlib, ${r.zstdBound.parallel} at once)`,
      fmt(r.zstdBound.mbPerSec),
      "—",
      "—",
      "—",
      "—",
      "—",
      "—",
    ]);
  if (p && p.recordsPerSec !== undefined)
    rows.push([
      "kafka-producer-perf-test acks=all idempotent (baseline)",
      fmt(p.mbPerSec),
      String(Math.round(p.recordsPerSec)),
      "—",
      "—",
      "—",
      "—",
      "1.00×",
    ]);
  if (r.restore.status === "measured") {
    for (const [label, x] of [
      ["restore ← minio, zstd-3", r.restore],
      ["restore ← minio, none", r.restore.fromUncompressedSet],
    ]) {
      if (!x) continue;
      rows.push([
        label,
        fmt(x.mbPerSec),
        String(x.recordsPerSec),
        fmt(x.cpuSeconds),
        fmt(x.cpuSecondsPerGiB),
        fmt(x.peakRssMiB, 0),
        "—",
        ratio(x.vsProducerPerfTest),
      ]);
    }
  }
  out.push(table(["", "MB/s", "records/s", "CPU s", "CPU s/GiB", "peak RSS MiB", "compression", "ours/baseline"], rows));

  if (r.scaleOut?.runs?.length) {
    out.push(
      "",
      table(
        ["scale-out: backup → minio, zstd-3", "MB/s", "records/s", "wall s", "CPU s (all)", "speedup"],
        r.scaleOut.runs.map(
          (s: {
            workers: number;
            mbPerSec: Num;
            recordsPerSec: number;
            wallSeconds: Num;
            cpuSeconds: Num;
            speedupVsOneWorker: Num;
          }) => [
            `${s.workers} worker${s.workers > 1 ? "s" : ""}`,
            fmt(s.mbPerSec),
            String(s.recordsPerSec),
            fmt(s.wallSeconds),
            fmt(s.cpuSeconds),
            ratio(s.speedupVsOneWorker),
          ],
        ),
      ),
    );
  }
  const extra: string[][] = [];
  if (r.offsets.bulkReset) {
    const o = r.offsets;
    extra.push([
      `bulk offset reset, ${o.groups} groups × ${o.partitions} partitions`,
      o.bulkReset.status === "measured" ? `${fmt(o.bulkReset.seconds, 2)} s` : `not available (${o.bulkReset.reason})`,
    ]);
    extra.push([
      `raw OffsetCommit of the same offsets (not the reset engine), ${o.rawCommit.concurrency} at a time`,
      `${fmt(o.rawCommit.seconds, 2)} s`,
    ]);
  }
  if (r.controllers.idle) {
    for (const i of r.controllers.idle)
      extra.push([
        `${i.controller} controller idle RSS, ${i.resources} × ${i.resourceKind}${i.namespaces > 1 ? ` in ${i.namespaces} namespaces` : ""}`,
        `${fmt(i.idleRssMiB)} MiB (peak ${fmt(i.peakRssMiB)}; heap used ${fmt(i.heapUsedMiB)} of ${fmt(i.heapTotalMiB)}, external ${fmt(i.externalMiB)}, other ${fmt(i.otherMiB)}); settled in ${fmt(i.settleSeconds)} s; ${fmt(i.idleApiRequestsPerMinute)} API requests/min idle`,
      ]);
    const l = r.controllers.latency;
    extra.push([
      `${l.kind} applied → Running, ${l.samples} samples`,
      `p50 ${fmt(l.p50Ms, 0)} ms, p99 ${fmt(l.p99Ms, 0)} ms${l.neverRunning ? `; ${l.neverRunning} never Running` : ""}${l.unfinished ? `; ${l.unfinished} unfinished` : ""}`,
    ]);
  }
  if (extra.length) out.push("", table(["", "figure"], extra));
  out.push(
    "",
    table(
      ["goal", "measured", "met"],
      r.goals.map((g: { goal: string; measured: Num; met: boolean | null }) => [
        g.goal,
        fmt(g.measured, 2),
        g.met === null ? "—" : g.met ? "yes" : "no",
      ]),
    ),
  );
  return out.join("\n");
}

// biome-ignore lint/suspicious/noExplicitAny: see renderTable
export function printTable(r: any): void {
  console.log(renderTable(r));
}
