// The validation decisions without I/O: counts against the manifest and a cluster (source or a
// restore with mapping and window), offset ranges, consumer-group snapshots, deep-scan verdicts,
// webhooks, the overall result, and what the controller makes of it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { statusForResult } from "../../controllers/validation.ts";
import type { Manifest, ManifestSegment } from "../../engine/format/manifest.ts";
import { chooseBackupId } from "../../engine/k8s/backup-source.ts";
import {
  consumerGroupCheck,
  deepIntegrityCheck,
  messageCountCheck,
  offsetRangeCheck,
  overallResult,
  parseGroupSnapshot,
  type SegmentScan,
  segmentCountInWindow,
  segmentMismatch,
  segmentsToCount,
  type Watermarks,
  webhookCheck,
} from "../../engine/validation/checks.ts";
import { displayUrl, pagerDutyEventsUrl } from "../../engine/validation/notify.ts";
import { enabledChecks, restoredFromSpec } from "../../engine/validation/spec.ts";

function segment(
  topic: string,
  p: number,
  first: number,
  last: number,
  count: number,
  minTs = 1000,
  maxTs = 2000,
): ManifestSegment {
  return {
    key: `b/topics/${topic}/partition=${p}/segment-${String(first).padStart(20, "0")}.bin.zst`,
    format: "kbos-v1",
    firstOffset: first,
    lastOffset: last,
    recordCount: count,
    minTimestamp: minTs,
    maxTimestamp: maxTs,
    codec: "zstd",
    encrypted: false,
    storedBytes: 100,
  };
}

/** orders: p0 offsets 0..99 (two segments, 100 records), p1 offsets 10..59 (50 records). */
function manifest(): Manifest {
  return {
    format: "kafka-backup-operator/manifest",
    formatVersion: 1,
    writer: "kafka-backup-operator",
    backupId: "b",
    createdAt: 1,
    updatedAt: 2,
    compression: "zstd",
    topics: [
      {
        name: "orders",
        partitionCount: 2,
        partitions: [
          {
            partition: 0,
            nextOffset: 100,
            gaps: [],
            segments: [segment("orders", 0, 0, 49, 50, 1000, 1999), segment("orders", 0, 50, 99, 50, 2000, 2999)],
          },
          { partition: 1, nextOffset: 60, gaps: [], segments: [segment("orders", 1, 10, 59, 50, 1500, 2500)] },
        ],
      },
    ],
  };
}

const wm = (entries: Record<string, [number, number] | null>) =>
  new Map<string, Watermarks | null>(Object.entries(entries).map(([k, v]) => [k, v ? { low: v[0], high: v[1] } : null]));

describe("messageCount", () => {
  test("against the manifest only: passes and counts", () => {
    const r = messageCountCheck({ manifest: manifest() });
    assert.equal(r.outcome, "Passed");
    assert.equal((r.details as { records: number }).records, 150);
  });

  test("a segment holding other than the manifest states fails, naming it", () => {
    const m = manifest();
    const key = m.topics[0]?.partitions[0]?.segments[1]?.key as string;
    const scans = new Map<string, SegmentScan>([
      [key, { key, topic: "orders", partition: 0, bytes: 1, sha256: "x", ok: true, records: 49 }],
    ]);
    const r = messageCountCheck({ manifest: m, scans });
    assert.equal(r.outcome, "Failed");
    assert.match(r.message, new RegExp(`${key}: holds 49 records, the manifest states 50`));
  });

  test("a topic asked for but not backed up fails", () => {
    assert.equal(messageCountCheck({ manifest: manifest(), topics: ["payments"] }).outcome, "Failed");
  });

  test("source cluster: level passes; offsets beyond the backup count against failThreshold; a truncated topic fails", () => {
    const level = wm({ "orders/0": [0, 100], "orders/1": [0, 60] });
    assert.equal(messageCountCheck({ manifest: manifest(), cluster: { role: "source", watermarks: level } }).outcome, "Passed");
    const ahead = wm({ "orders/0": [0, 105], "orders/1": [0, 60] });
    assert.equal(messageCountCheck({ manifest: manifest(), cluster: { role: "source", watermarks: ahead } }).outcome, "Failed");
    assert.equal(
      messageCountCheck({ manifest: manifest(), failThreshold: 5, cluster: { role: "source", watermarks: ahead } }).outcome,
      "Passed",
    );
    const truncated = wm({ "orders/0": [0, 80], "orders/1": [0, 60] });
    const r = messageCountCheck({
      manifest: manifest(),
      failThreshold: 1000,
      cluster: { role: "source", watermarks: truncated },
    });
    assert.equal(r.outcome, "Failed");
    assert.match(r.message, /high watermark 80 is below the backup's next offset 100/);
  });

  test("restored cluster: compared on the mapped topic, by count, inside the window", () => {
    const cluster = (w: Map<string, Watermarks | null>, window = {}) => ({
      role: "restored" as const,
      watermarks: w,
      topicMapping: { orders: "orders-restored" },
      window,
    });
    // A restore renumbers from 0: 100 and 50 records.
    const exact = wm({ "orders-restored/0": [0, 100], "orders-restored/1": [0, 50] });
    assert.equal(messageCountCheck({ manifest: manifest(), cluster: cluster(exact) }).outcome, "Passed");
    // Under the source name it would be missing entirely.
    const wrongName = wm({ "orders/0": [0, 100], "orders/1": [0, 50] });
    assert.equal(messageCountCheck({ manifest: manifest(), cluster: cluster(wrongName) }).outcome, "Failed");
    const short = wm({ "orders-restored/0": [0, 97], "orders-restored/1": [0, 50] });
    const r = messageCountCheck({ manifest: manifest(), cluster: cluster(short) });
    assert.equal(r.outcome, "Failed");
    assert.match(r.message, /3 records of the backup are missing/);
    // Window 2000..2999 holds p0's second segment whole, and cuts p1's segment: that one needs decoding.
    const window = { start: 2000, end: 2999 };
    const windowed = wm({ "orders-restored/0": [0, 50], "orders-restored/1": [0, 20] });
    const uncounted = messageCountCheck({ manifest: manifest(), cluster: cluster(windowed, window) });
    assert.equal(uncounted.outcome, "Failed", "a segment the window cuts must be counted, not guessed");
    const p1 = manifest().topics[0]?.partitions[1]?.segments[0] as ManifestSegment;
    const scans = new Map<string, SegmentScan>([
      [p1.key, { key: p1.key, topic: "orders", partition: 1, bytes: 1, sha256: "x", ok: true, records: 50, inWindow: 20 }],
    ]);
    assert.equal(messageCountCheck({ manifest: manifest(), scans, cluster: cluster(windowed, window) }).outcome, "Passed");
    const extra = wm({ "orders-restored/0": [0, 51], "orders-restored/1": [0, 20] });
    assert.equal(messageCountCheck({ manifest: manifest(), scans, cluster: cluster(extra, window) }).outcome, "Warning");
  });

  test("window arithmetic on segments", () => {
    const s = segment("t", 0, 0, 9, 10, 100, 200);
    assert.equal(segmentCountInWindow(s, {}), 10);
    assert.equal(segmentCountInWindow(s, { start: 201 }), 0);
    assert.equal(segmentCountInWindow(s, { end: 99 }), 0);
    assert.equal(segmentCountInWindow(s, { start: 100, end: 200 }), 10);
    assert.equal(segmentCountInWindow(s, { start: 150 }), undefined);
    const { minTimestamp: _, maxTimestamp: __, ...kbak } = s;
    assert.equal(segmentCountInWindow(kbak, { start: 0 }), undefined, "KBAK segments have no min/max: decode");
    assert.equal(segmentsToCount(manifest().topics, { start: 2000, end: 2999 }).length, 1);
  });
});

describe("offsetRange", () => {
  test("ordered segments pass; an overlap fails naming both; recorded gaps warn", () => {
    assert.equal(offsetRangeCheck({ manifest: manifest() }).outcome, "Passed");
    const m = manifest();
    const p0 = m.topics[0]?.partitions[0];
    if (!p0) throw new Error("fixture");
    p0.segments[1] = segment("orders", 0, 40, 99, 60);
    const overlap = offsetRangeCheck({ manifest: m });
    assert.equal(overlap.outcome, "Failed");
    assert.match(overlap.message, /overlaps/);
    const g = manifest();
    g.topics[0]?.partitions[1]?.gaps.push({ start: 0, end: 10, reason: "retention", detectedAt: 1 });
    assert.equal(offsetRangeCheck({ manifest: g }).outcome, "Warning");
  });

  test("against the source: beyond the high watermark fails; a restored cluster is not compared by offset", () => {
    const ok = wm({ "orders/0": [0, 100], "orders/1": [30, 60] });
    assert.equal(offsetRangeCheck({ manifest: manifest(), cluster: { role: "source", watermarks: ok } }).outcome, "Passed");
    const low = wm({ "orders/0": [0, 90], "orders/1": [0, 60] });
    assert.equal(offsetRangeCheck({ manifest: manifest(), cluster: { role: "source", watermarks: low } }).outcome, "Failed");
    assert.equal(offsetRangeCheck({ manifest: manifest(), cluster: { role: "restored", watermarks: low } }).outcome, "Passed");
  });
});

describe("consumerGroupOffsets", () => {
  const snapshot = parseGroupSnapshot(
    JSON.stringify({ snapshot_time: 5, groups: [{ group_id: "billing", offsets: { orders: { "0": 42, "1": 60 } } }] }),
    "snap",
  );

  test("commits inside the backup pass; a missing snapshot or group is reported", () => {
    assert.equal(consumerGroupCheck({ manifest: manifest(), snapshot }).outcome, "Passed");
    assert.equal(consumerGroupCheck({ manifest: manifest(), snapshot: undefined }).outcome, "Warning");
    assert.equal(consumerGroupCheck({ manifest: manifest(), snapshot: undefined, groups: ["billing"] }).outcome, "Failed");
    const r = consumerGroupCheck({ manifest: manifest(), snapshot, groups: ["billing", "audit"] });
    assert.equal(r.outcome, "Failed");
    assert.match(r.message, /group audit is not in the backup's consumer-group snapshot/);
  });

  test("a commit past the backup's end warns", () => {
    const ahead = parseGroupSnapshot(JSON.stringify({ groups: [{ group_id: "g", offsets: { orders: { "0": 150 } } }] }), "s");
    assert.equal(consumerGroupCheck({ manifest: manifest(), snapshot: ahead }).outcome, "Warning");
  });

  test("restored cluster: the group must have commits on the mapped topic within its offsets", () => {
    const watermarks = wm({ "orders-restored/0": [0, 100], "orders-restored/1": [0, 50] });
    const committed = new Map([
      [
        "billing",
        new Map([
          ["orders-restored/0", 42],
          ["orders-restored/1", 50],
        ]),
      ],
    ]);
    const cluster = { role: "restored" as const, committed, watermarks, topicMapping: { orders: "orders-restored" } };
    assert.equal(consumerGroupCheck({ manifest: manifest(), snapshot, cluster }).outcome, "Passed");
    const none = { ...cluster, committed: new Map([["billing", new Map([["orders-restored/0", 42]])]]) };
    assert.equal(consumerGroupCheck({ manifest: manifest(), snapshot, cluster: none }).outcome, "Failed");
  });

  test("a snapshot that is not one is an error naming it", () => {
    assert.throws(() => parseGroupSnapshot("{}", "b/consumer-groups-snapshot.json"), /b\/consumer-groups-snapshot.json/);
  });
});

describe("deepIntegrity, webhooks and the result", () => {
  const ok = (key: string): SegmentScan => ({ key, topic: "t", partition: 0, bytes: 10, sha256: "a", ok: true, records: 5 });

  test("a failing segment fails the check and is named", () => {
    assert.equal(deepIntegrityCheck([ok("a"), ok("b")]).outcome, "Passed");
    const r = deepIntegrityCheck([ok("a"), { ...ok("b/seg-1"), ok: false, error: "CRC mismatch" }]);
    assert.equal(r.outcome, "Failed");
    assert.match(r.message, /b\/seg-1: CRC mismatch/);
    assert.deepEqual((r.details as { failedSegments: unknown[] }).failedSegments, [{ key: "b/seg-1", error: "CRC mismatch" }]);
    assert.equal(deepIntegrityCheck([ok("a"), { ...ok("e"), undecoded: true, records: undefined }]).outcome, "Warning");
  });

  test("decoded segments are held to the manifest's count and offsets", () => {
    const s = segment("t", 0, 10, 19, 10);
    assert.equal(segmentMismatch(s, { count: 10, firstOffset: 10, lastOffset: 19 }), undefined);
    assert.match(segmentMismatch(s, { count: 9, firstOffset: 10, lastOffset: 19 }) ?? "", /holds 9 records/);
    assert.match(segmentMismatch(s, { count: 10, firstOffset: 11, lastOffset: 19 }) ?? "", /first offset 11/);
  });

  test("webhooks pass on the expected status only", () => {
    assert.equal(webhookCheck("w", 200, { status: 200 }).outcome, "Passed");
    assert.equal(webhookCheck("w", 204, { status: 200 }).outcome, "Failed");
    assert.match(webhookCheck("w", 200, { error: "x", timedOut: true }).message, /timeout/);
  });

  test("the overall result and what Ready says", () => {
    assert.equal(overallResult([{ outcome: "Passed" }, { outcome: "Warning" }]), "Warn");
    assert.equal(overallResult([{ outcome: "Passed" }, { outcome: "Failed" }, { outcome: "Warning" }]), "Fail");
    assert.equal(overallResult([{ outcome: "Skipped" }]), "Skip");
    assert.equal(overallResult([{ outcome: "Passed" }, { outcome: "Skipped" }]), "Pass");
    assert.equal(statusForResult("Fail", "x").ready.status, "False", "a failed validation is never Ready");
    assert.equal(statusForResult("Fail", "x").phase, "Failed");
    assert.equal(statusForResult("Pass", "x").ready.status, "True");
    assert.equal(statusForResult("Warn", "x").ready.reason, "ValidationWarning");
    assert.equal(statusForResult("Warn", "x").event, "Warning");
    assert.equal(statusForResult("Skip", "x").ready.status, "Unknown");
  });
});

describe("from the spec", () => {
  test("enabled checks and the restored mapping and window", () => {
    assert.deepEqual(
      enabledChecks({
        checks: {
          messageCount: {},
          offsetRange: { enabled: false },
          deepIntegrity: { enabled: true },
          customWebhooks: [{ name: "x", url: "http://a" }],
        },
      }),
      ["messageCount", "deepIntegrity", "webhook:x"],
    );
    assert.equal(restoredFromSpec({}), undefined);
    assert.deepEqual(restoredFromSpec({ restored: { topicMapping: { a: "b" }, pitr: { startTimestamp: 5, endTimestamp: 9 } } }), {
      topicMapping: { a: "b" },
      window: { start: 5, end: 9 },
    });
    assert.throws(() => restoredFromSpec({ restored: { pitr: { startTimestamp: 9, endTimestamp: 5 } } }), /spec.restored.pitr/);
  });

  test("which backup set a KafkaBackup reference means", () => {
    const owner = { namespace: "prod", name: "nightly", uid: "u1" };
    const set = (backupId: string, createdAt: number, state?: "complete" | "failed" | "running", by = owner) => {
      const manifest = {
        format: "kafka-backup-operator/manifest",
        formatVersion: 1,
        writer: "kafka-backup-operator",
        backupId,
        createdAt,
        updatedAt: createdAt,
        compression: "zstd",
        topics: [],
        ...(state ? { owner: by, run: { state, mode: "snapshot" } } : {}),
      } as unknown as Manifest;
      return { backupId, manifest, usable: !state || state === "complete", createdAt, storedBytes: 0 };
    };
    const sets = [
      set("prod.nightly-20261124-020000", 1, "complete"),
      set("prod.nightly-20261125-020000", 2, "failed"),
      set("prod.nightly-20261126-020000", 3, "running"),
      set("dev.nightly-20261127-020000", 4, "complete", { namespace: "dev", name: "nightly", uid: "u2" }),
      set("nightly-archive-20261128-020000", 5),
    ];
    // Named: taken as it is, with a warning when its run did not complete.
    assert.deepEqual(chooseBackupId(owner, "prod.nightly-20261124-020000", sets), { backupId: "prod.nightly-20261124-020000" });
    assert.match(chooseBackupId(owner, "prod.nightly-20261125-020000", sets).warning ?? "", /is failed, not complete/);
    // Unnamed: the newest complete set this KafkaBackup owns; never the failed or running ones, nor the other namespace's.
    assert.deepEqual(chooseBackupId(owner, undefined, sets), { backupId: "prod.nightly-20261124-020000" });
    // Sets written before owners were recorded count by their {name}-{YYYYMMDD-HHMMSS} id.
    assert.deepEqual(chooseBackupId(owner, undefined, [...sets, set("nightly-20261129-020000", 6)]), {
      backupId: "nightly-20261129-020000",
    });
    assert.deepEqual(chooseBackupId(owner, undefined, sets.slice(1, 3)), {});
  });
});

describe("what may be shown of a URL", () => {
  test("user info, query and fragment are dropped; the PagerDuty endpoint can be overridden", () => {
    assert.equal(displayUrl("https://user:pw@hooks.example.com/services/x?token=t#f"), "https://hooks.example.com/services/x");
    assert.equal(displayUrl("not a url"), "(invalid URL)");
    assert.equal(pagerDutyEventsUrl({}), "https://events.pagerduty.com/v2/enqueue");
    assert.equal(pagerDutyEventsUrl({ PAGERDUTY_EVENTS_URL: "http://127.0.0.1:9/x" }), "http://127.0.0.1:9/x");
  });
});
