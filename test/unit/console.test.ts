// The console's decisions without a server: coverage lines and gaps from manifests, the achieved
// RPO, the picker's form and the KafkaRestore it amounts to, and HTML escaping on every page.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { achievedRpo, coverageTimeline } from "../../engine/console/coverage.ts";
import { html } from "../../engine/console/html.ts";
import type { ConsoleLocation, LocationView } from "../../engine/console/location.ts";
import { offsetMappingRef, operationsPage, restoreProgress } from "../../engine/console/operations.ts";
import { catalogPage, coveragePage, offsetX, pickerPage, timelineLanes } from "../../engine/console/pages.ts";
import { parseInstant, parsePickerForm, restoreManifestYaml, restoreName, restoreSpecOf } from "../../engine/console/picker.ts";
import { startConsole } from "../../engine/console/server.ts";
import type { Manifest, ManifestPartition } from "../../engine/format/manifest.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";

const seg = (set: string, first: number, last: number, ts = 1000) => ({
  key: `${set}/topics/t/partition=0/segment-${first}.bin`,
  format: "kbos-v2" as const,
  firstOffset: first,
  lastOffset: last,
  recordCount: last - first + 1,
  minTimestamp: ts,
  maxTimestamp: ts + 10,
  codec: "zstd" as const,
  encrypted: false,
  storedBytes: 100,
});

function manifest(
  id: string,
  partition: Omit<ManifestPartition, "partition">,
  more: Partial<Manifest> = {},
  at = 1_000_000,
): Manifest {
  return {
    format: "kafka-backup-operator/manifest",
    formatVersion: 1,
    writer: "kafka-backup-operator",
    backupId: id,
    createdAt: at,
    updatedAt: at,
    compression: "zstd",
    topics: [{ name: "t", partitionCount: 1, partitions: [{ partition: 0, ...partition }] }],
    run: { state: "complete", mode: "snapshot", finishedAt: at },
    ...more,
  };
}

describe("coverage timeline", () => {
  const full = manifest(
    "c-1",
    { segments: [seg("c-1", 0, 99)], gaps: [], nextOffset: 100 },
    { chain: { id: "c-1", sequence: 0 } },
  );
  const incr = manifest(
    "c-2",
    { segments: [seg("c-2", 105, 119)], gaps: [{ start: 100, end: 105, reason: "retention", detectedAt: 0 }], nextOffset: 120 },
    { chain: { id: "c-1", sequence: 1, base: "c-1" } },
  );
  const failed = manifest(
    "f-1",
    { segments: [seg("f-1", 130, 139)], gaps: [], nextOffset: 140 },
    { run: { state: "failed", mode: "snapshot" } },
  );

  test("each set's span starts where its chain base ended; a recorded gap is kept; offsets no complete set holds are a missing gap", () => {
    const [line] = coverageTimeline([full, incr, failed]);
    assert.ok(line);
    assert.deepEqual([line.from, line.to], [0, 140]);
    assert.deepEqual(
      line.spans.map((s) => [s.backupId, s.from, s.to, s.usable, s.records]),
      [
        ["c-1", 0, 100, true, 100],
        ["c-2", 100, 120, true, 15],
        ["f-1", 130, 140, false, 10],
      ],
    );
    assert.deepEqual(
      line.gaps.map((g) => [g.kind, g.start, g.end, g.backupId ?? ""]),
      [
        ["recorded", 100, 105, "c-2"],
        ["missing", 120, 140, ""],
      ],
    );
  });

  test("lanes: one per chain, then the incomplete sets; the x of an offset is linear on the axis", () => {
    const [line] = coverageTimeline([full, incr, failed]);
    assert.ok(line);
    assert.deepEqual(
      timelineLanes(line).map((l) => [l.label, l.spans.map((s) => s.backupId)]),
      [
        ["chain c-1", ["c-1", "c-2"]],
        ["incomplete sets", ["f-1"]],
      ],
    );
    const a = offsetX(line, 0);
    const b = offsetX(line, 70);
    const c = offsetX(line, 140);
    assert.ok(Math.abs(b - (a + c) / 2) < 0.2);
  });

  test("achieved RPO: the longest time between complete sets' ends in the window, the time since the last one included", () => {
    const h = 3_600_000;
    const now = 100 * h;
    const sets = [
      manifest("a", { segments: [], gaps: [] }, {}, now - 30 * h),
      manifest("b", { segments: [], gaps: [] }, {}, now - 20 * h),
      manifest("x", { segments: [], gaps: [] }, { run: { state: "failed", mode: "snapshot" } }, now - 15 * h),
      manifest("c", { segments: [], gaps: [] }, {}, now - 2 * h),
    ];
    assert.deepEqual(achievedRpo(sets, now, 7), { worstMs: 18 * h, endingAt: "c", sets: 3, windowDays: 7 });
    assert.deepEqual(achievedRpo(sets, now, 1), { worstMs: 18 * h, endingAt: "c", sets: 2, windowDays: 1 });
    // The stretch from the last set before the window into it counts.
    const sparse = [sets[0] as Manifest, manifest("d", { segments: [], gaps: [] }, {}, now - 2 * h)];
    assert.deepEqual(achievedRpo(sparse, now, 1), { worstMs: 28 * h, endingAt: "d", sets: 1, windowDays: 1 });
    assert.deepEqual(achievedRpo([], now), { sets: 0, windowDays: 7 });
  });
});

const location: ConsoleLocation = {
  name: "prod/hourly",
  namespace: "prod",
  store: { location: (k?: string) => `s3://b/p/${k ?? ""}` } as unknown as StorageBackend,
  backupRef: (backupId) => ({ name: "hourly", namespace: "prod", backupId }),
  kafkaCluster: { bootstrapServers: ["kafka:9092"], saslSecret: { name: "kafka-user", mechanism: "SCRAM-SHA-512" } },
  openDryRun: async () => {
    throw new Error("not in unit tests");
  },
};

describe("point-in-time picker", () => {
  test("an instant on the page keeps its milliseconds, so a resubmitted form asks for the same window", async () => {
    const { formatInstant } = await import("../../engine/console/html.ts");
    assert.equal(formatInstant(Date.UTC(2026, 11, 3, 9, 30)), "2026-12-03T09:30:00Z");
    assert.equal(formatInstant(Date.UTC(2026, 11, 3, 9, 30, 1, 736)), "2026-12-03T09:30:01.736Z");
    assert.equal(parseInstant("2026-12-03T09:30:01.736Z"), Date.UTC(2026, 11, 3, 9, 30, 1, 736));
  });

  test("times as people type them", () => {
    assert.equal(parseInstant("2026-12-03T09:30:00Z"), Date.UTC(2026, 11, 3, 9, 30));
    assert.equal(parseInstant("2026-12-03T09:30"), Date.UTC(2026, 11, 3, 9, 30), "datetime-local, read as UTC");
    assert.equal(parseInstant("2026-12-03 10:30:00+01:00"), Date.UTC(2026, 11, 3, 9, 30));
    assert.equal(parseInstant("1764754200000"), 1764754200000);
    assert.equal(parseInstant(""), undefined);
    assert.ok(Number.isNaN(parseInstant("yesterday")));
  });

  test("the form: topics, targets, time, bounds; errors name the field", () => {
    const q = new URLSearchParams(
      "shown=1&plan=1&topic=orders&target.orders=orders-restored&target.other=other&at=2026-12-03T09:30:00Z&endOffset=500",
    );
    const { form, submitted, errors } = parsePickerForm(q);
    assert.deepEqual(errors, []);
    assert.equal(submitted, true);
    assert.deepEqual(form, {
      topics: ["orders"],
      at: Date.UTC(2026, 11, 3, 9, 30),
      endOffset: 500,
      targets: { orders: "orders-restored" },
      createTopics: false,
    });
    const bad = parsePickerForm(new URLSearchParams("topic=a b&at=soon&from=2026-12-04T00:00:00Z&endOffset=-1&name=Not_OK"));
    assert.deepEqual(bad.errors, [
      'topic "a b" is not a Kafka topic name',
      'point in time: "soon" is not a time (RFC 3339, e.g. 2026-12-03T09:30:00Z)',
      'up to offset: "-1" is not an offset',
      'name: "Not_OK" is not a Kubernetes object name',
    ]);
    assert.equal(parsePickerForm(new URLSearchParams("")).form.createTopics, true, "first view: create topics ticked");
  });

  test("the KafkaRestore: the backup reference, the cluster's references, the window, the mapping", () => {
    const { form } = parsePickerForm(
      new URLSearchParams("shown=1&createTopics=on&topic=orders&target.orders=orders-r&at=2026-12-03T09:30:00Z&endOffset=9"),
    );
    const spec = restoreSpecOf(location, form, "prod.hourly-20261203-100000");
    const name = restoreName(location, form, 0);
    assert.equal(name, "hourly-restore-20261203-093000");
    const doc = parseYaml(restoreManifestYaml(location, spec, name));
    assert.deepEqual(doc, {
      apiVersion: "kafka.oso.sh/v1alpha1",
      kind: "KafkaRestore",
      metadata: { name, namespace: "prod" },
      spec: {
        backupRef: { name: "hourly", namespace: "prod", backupId: "prod.hourly-20261203-100000" },
        kafkaCluster: { bootstrapServers: ["kafka:9092"], saslSecret: { name: "kafka-user", mechanism: "SCRAM-SHA-512" } },
        topics: ["orders"],
        pitr: { endTime: "2026-12-03T09:30:00.000Z" },
        offsetBounds: [{ topic: "orders", endOffset: 9 }],
        topicMapping: { orders: "orders-r" },
        createTopics: true,
      },
    });
  });
});

describe("pages", () => {
  const hostile = '<script>alert("x")</script>';
  const m = manifest(`set-${hostile}`, { segments: [seg("s", 0, 9)], gaps: [] }, { owner: { namespace: hostile, name: "n" } });
  m.topics[0] = { ...(m.topics[0] as Manifest["topics"][number]), name: hostile };
  const view: LocationView = {
    location: { ...location, name: hostile },
    where: "s3://b/p/",
    sets: [],
    infos: [{ backupId: m.backupId, manifest: m, usable: true, createdAt: m.createdAt, storedBytes: 100 }],
    manifests: [m],
    unreadable: [{ backupId: "bad", message: hostile }],
    readAt: 2_000_000,
  };

  test("html`` escapes every value and keeps nested html", () => {
    assert.equal(html`<td>${hostile}</td>`.text, "<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</td>");
    assert.equal(html`<p>${[html`<b>${"&"}</b>`, undefined, false, 0]}</p>`.text, "<p><b>&amp;</b>0</p>");
  });

  test("nothing from a manifest, a form or an error reaches a page unescaped", async () => {
    const { setRow } = await import("../../engine/console/location.ts");
    view.sets = view.infos.map((i) => setRow(i));
    const [line] = coverageTimeline(view.manifests);
    assert.ok(line);
    const pages = [
      catalogPage([view, { name: hostile, error: hostile }]),
      coveragePage(view, [line], achievedRpo(view.manifests, view.readAt), [hostile, "other"]),
      pickerPage({
        view,
        names: [hostile],
        form: { topics: [hostile], targets: { [hostile]: hostile }, createTopics: true, name: hostile },
        errors: [hostile],
        chosen: { backupId: hostile, warning: hostile },
        failure: hostile,
        manifestYaml: hostile,
      }),
    ];
    for (const page of pages) {
      assert.ok(page.includes("&lt;script&gt;"), "the value is on the page, escaped");
      assert.ok(!page.includes("<script"), "and never as markup");
    }
  });
});

describe("restores and validations page", () => {
  test("progress: records restored of the total, with the percentage", () => {
    assert.equal(
      restoreProgress({ recordsRestored: 1200, recordsTotal: 5000, progressPercent: 24 }),
      "1,200 of 5,000 records (24%)",
    );
    assert.equal(restoreProgress({ recordsRestored: 7 }), "7 records");
    assert.equal(restoreProgress({ progressPercent: 0 }), "0%");
    assert.equal(restoreProgress(undefined), "");
  });

  test("status values are escaped; a spec's cluster and storage blocks are not shown; a failed list is said", () => {
    const page = operationsPage({
      restores: [
        {
          metadata: { namespace: "ns", name: "r" },
          spec: { backupRef: { name: "kb", storage: { storageType: "s3" } as never } },
          status: {
            phase: "Failed",
            message: "<script>x</script>",
            consumerGroups: [{ groupId: "g<1>", committed: false, error: "a&b" }],
          },
        },
      ],
      validations: { error: "forbidden <x>" },
    });
    assert.doesNotMatch(page, /<script>|g<1>|<x>/);
    assert.match(page, /&lt;script&gt;x&lt;\/script&gt;/);
    assert.match(page, /<tr data-group="g&lt;1&gt;" data-committed="false">/);
    assert.match(page, /a&amp;b/);
    assert.doesNotMatch(page, /storageType|s3/);
    assert.match(page, /Could not list KafkaBackupValidations: forbidden &lt;x&gt;/);
    assert.match(operationsPage(undefined), /Only the console in a cluster/);
  });
});

describe("console readiness", () => {
  test("/readyz is 503 until the start's read of the catalog is done, /healthz 200 throughout; then 200", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const running = await startConsole({ locations: () => gate.then(() => []), port: 0 });
    try {
      assert.equal((await fetch(`${running.url}/readyz`)).status, 503);
      assert.equal((await fetch(`${running.url}/healthz`)).status, 200);
      release();
      await running.warmed;
      assert.equal((await fetch(`${running.url}/readyz`)).status, 200);
    } finally {
      await running.close();
    }
  });

  test("without the start's read (warm: false) it is ready at once", async () => {
    const running = await startConsole({ locations: () => new Promise(() => {}), port: 0, warm: false });
    try {
      assert.equal((await fetch(`${running.url}/readyz`)).status, 200);
    } finally {
      await running.close();
    }
  });
});

describe("the offset mapping report on the restores page", () => {
  const restore = {
    metadata: { namespace: "team", name: "r1" },
    spec: { backupRef: { name: "orders" } },
    status: { phase: "Completed" as const, offsetMappingPath: "s3://b/p/team.orders-1/restores/r1/offset-mapping.json" },
  };
  test("the path names its set and restore", () => {
    assert.deepEqual(offsetMappingRef(restore.status.offsetMappingPath), { backupId: "team.orders-1", restoreId: "r1" });
    assert.equal(offsetMappingRef("s3://b/p/other.json"), undefined);
  });

  test("each partition's ranges and each group's translation, escaped; a report that would not read says why", () => {
    const partition = (p: number) => ({
      sourceTopic: "orders",
      sourcePartition: p,
      targetTopic: "orders-r",
      targetPartition: p,
      records: 10,
      sourceFirstOffset: 100,
      sourceLastOffset: 109,
      targetFirstOffset: 0,
      targetLastOffset: 9,
      firstTimestamp: 0,
      lastTimestamp: 0,
      runs: [[100, 0, 10]] as Array<[number, number, number]>,
      ...(p === 1 ? { runsTruncated: true } : {}),
    });
    const report = {
      format: "kafka-backup-operator/offset-mapping" as const,
      version: 1 as const,
      backupId: "team.orders-1",
      restoreId: "r1",
      createdAt: "2026-12-03T00:00:00Z",
      partitions: [partition(1), partition(0)],
      targetEnds: {},
      consumerGroups: [
        {
          groupId: "<billing>",
          source: [{ sourceTopic: "orders", sourcePartition: 0, sourceOffset: 105 }],
          target: [{ topic: "orders-r", partition: 0, offset: 5 }],
          committed: true,
        },
      ],
    };
    const page = operationsPage({ restores: [restore], validations: [], mappings: new Map([["team/r1", report]]) });
    assert.match(
      page,
      /<tr data-source="orders\/0"><td>orders\/0<\/td><td>orders-r\/0<\/td><td class="n">10<\/td><td>100–109<\/td><td>0–9<\/td><td class="n">1<\/td><\/tr>\s*<tr data-source="orders\/1">.*truncated/s,
      "partitions in order, a truncated one marked",
    );
    assert.match(page, /<td>&lt;billing&gt;<\/td><td>orders\/0<\/td><td class="n">105<\/td><td>orders-r\/0 @ 5<\/td>/);
    const failed = operationsPage({
      restores: [restore],
      validations: [],
      mappings: new Map([["team/r1", { error: "s3://b/p/x: not JSON" }]]),
    });
    assert.match(failed, /<p class="error">Offset mapping report: s3:\/\/b\/p\/x: not JSON<\/p>/);
  });
});
