// The web console on real backups (the stack's broker and MinIO): `kafka-backup console` is started
// as a user starts it, its pages are fetched over HTTP, and the test checks what a person sees.
// One storage prefix holds a chain of a scheduled backup with a retention gap and a cancelled run
// in it, a set whose run failed (the store denied a segment's upload), and an encrypted set of
// another KafkaBackup. The catalog lists each set with its records and state; the coverage page
// draws the gap where its offsets are; the picker's dry run gives the numbers the CLI's
// `restore --dry-run` gives for the KafkaRestore the page shows; no Secret value is on any page.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { parse as parseYaml } from "yaml";
import { planOptions, prepareChainPlan } from "../../engine/backup/chain.ts";
import { runBackup } from "../../engine/backup/engine.ts";
import { readSetManifest } from "../../engine/backupset/catalog.ts";
import { offsetX, timelineGeometry } from "../../engine/console/pages.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import type { DryRunResult } from "../../engine/restore/dry-run.ts";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import { AccessDeniedError } from "../../engine/storage/errors.ts";
import { runValidation, storeEvidence } from "../../engine/validation/run.ts";
import { ensureChromium } from "../stack/chromium.ts";
import { repoRoot } from "../stack/config.ts";
import { minioStorageSpec, minioStore } from "../support/backup.ts";
import { Browser } from "../support/browser.ts";
import { LeakSearch } from "../support/canaries.ts";
import { stackEnv } from "../support/stack-env.ts";

const run = randomUUID().slice(0, 8);
const topic = `console-src-${run}`;
const prefix = `console-${run}`;
const owner = { namespace: "prod", name: "hourly", uid: `uid-${run}` };
const encryptionKey = randomBytes(32);
let kafka: KafkaClient;
let store: StorageBackend;
let sent = 0;
let dir: string;
let config: string;
let consoleProcess: ChildProcess | undefined;
let base: string;
/** A time after hourly-2 ended and before hourly-4 began: a restore to it reads hourly-1 + hourly-2. */
let betweenSets: number;

async function produce(n: number): Promise<void> {
  const producer = kafka.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: n }, (_, j) => ({ key: `k${sent + j}`, value: `v${sent + j}`, partition: (sent + j) % 2 })),
    });
    sent += n;
  } finally {
    await producer.disconnect();
  }
}

async function tick(backupId: string, signal?: AbortSignal) {
  const plan = await prepareChainPlan(kafka, store, {
    backupId,
    owner,
    selection: { topics: [topic] },
    policy: { fullBackupEvery: 7 },
  });
  return await runBackup(kafka, store, {
    backupId,
    ...planOptions(plan),
    selection: { topics: [topic] },
    mode: "snapshot",
    codec: "zstd",
    segmentMaxRecords: 40,
    leaseHolder: "t",
    ...(signal ? { signal } : {}),
  });
}

/** The store as it is, but the bucket refuses segment uploads after the first `allowed` (a policy changed mid-run). */
function denyingSegmentsAfter(allowed: number): StorageBackend {
  let segments = 0;
  return new Proxy(store, {
    get(target, prop) {
      if (prop !== "put") {
        // The backend's methods use private fields: call them on the backend itself.
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return async (key: string, ...rest: unknown[]) => {
        if (key.includes("/segment-") && ++segments > allowed)
          throw new AccessDeniedError("access denied: the bucket policy refuses this upload", { key });
        return await (target.put as (...a: unknown[]) => Promise<unknown>).call(target, key, ...rest);
      };
    },
  });
}

function cli(args: string[], timeout = 120_000) {
  return spawnSync(process.execPath, [join(repoRoot, "engine/cli/main.ts"), ...args], { encoding: "utf8", timeout });
}

async function page(path: string): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const fromHtml = (s: string) =>
  s.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&amp;", "&");

before(async () => {
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  const admin = await kafka.admin();
  await admin.createTopics({
    topics: [{ topic, numPartitions: 2, configEntries: [{ name: "retention.ms", value: "-1" }] }],
    waitForLeaders: true,
  });
  store = await minioStore(prefix);

  // A chain: a full set, an incremental one.
  await produce(200);
  assert.equal((await tick("prod.hourly-1")).records, 200);
  await produce(60);
  assert.equal((await tick("prod.hourly-2")).records, 60);
  // A one-shot backup of another KafkaBackup whose run failed part way: its first segments are stored.
  await assert.rejects(
    runBackup(kafka, denyingSegmentsAfter(2), {
      backupId: "prod.adhoc-1",
      owner: { namespace: "prod", name: "adhoc", uid: `adhoc-${run}` },
      selection: { topics: [topic] },
      mode: "snapshot",
      codec: "lz4",
      segmentMaxRecords: 40,
      leaseHolder: "t",
    }),
    /access denied/,
  );
  assert.equal((await readSetManifest(store, "prod.adhoc-1")).run?.state, "failed");
  // An encrypted full set of a third KafkaBackup.
  const encrypted = await runBackup(kafka, store, {
    backupId: "prod.secure-1",
    owner: { namespace: "prod", name: "secure", uid: `secure-${run}` },
    selection: { topics: [topic] },
    mode: "snapshot",
    codec: "zstd",
    encryptionKey,
    leaseHolder: "t",
  });
  assert.equal(encrypted.records, 260);
  await sleep(1100);
  betweenSets = Date.now();
  await sleep(1100);
  // A cancelled tick, then log retention takes offsets 130..134 of partition 0 before the next tick reads them.
  await produce(20);
  const stop = new AbortController();
  stop.abort(new Error("cancelled by the test"));
  await tick("prod.hourly-3", stop.signal);
  await produce(20);
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "135" }] });
  const fourth = await tick("prod.hourly-4");
  assert.equal(fourth.gaps, 1);
  // hourly-4's chain validated, the evidence signed: Warn, for the retention gap.
  const signing = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const report = await runValidation(store, {
    backupId: "prod.hourly-4",
    checks: { messageCount: {}, offsetRange: {} },
    validation: { name: "nightly", triggeredBy: "test" },
  });
  assert.equal(report.result, "Warn");
  await storeEvidence(store, report, { at: new Date(), signingKey: signing.privateKey });
  // hourly-2's evidence signed by another key than the one the console is given: invalid.
  const other = await runValidation(store, {
    backupId: "prod.hourly-2",
    checks: { messageCount: {} },
    validation: { name: "nightly", triggeredBy: "test" },
  });
  await storeEvidence(store, other, {
    at: new Date(),
    signingKey: generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey,
  });

  // The CLI's config: the storage block, the cluster, the encryption key's Secret, and a Secrets folder.
  dir = mkdtempSync(join(tmpdir(), "kbo-console-"));
  const { spec, secrets } = minioStorageSpec(prefix);
  secrets["backup-key"] = { key: encryptionKey.toString("base64") };
  for (const [name, keys] of Object.entries(secrets)) {
    mkdirSync(join(dir, "secrets", name), { recursive: true });
    for (const [key, value] of Object.entries(keys)) writeFileSync(join(dir, "secrets", name, key), value);
  }
  config = join(dir, "prod-backups.json");
  writeFileSync(
    config,
    JSON.stringify({
      kafkaCluster: { bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") },
      topics: [topic],
      storage: spec,
      encryption: { keySecret: { name: "backup-key" } },
    }),
  );

  const publicKeyFile = join(dir, "signing-key-pub.pem");
  writeFileSync(publicKeyFile, signing.publicKey.export({ type: "spki", format: "pem" }));

  // `kafka-backup console` as a user runs it; port 0 picks a free one, the URL is on stderr.
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, "engine/cli/main.ts"),
      "console",
      "-c",
      config,
      "--secrets-dir",
      join(dir, "secrets"),
      "--port",
      "0",
      "--public-key",
      publicKeyFile,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  consoleProcess = child;
  let stderr = "";
  base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the console did not start: ${stderr}`)), 60_000);
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      const m = /at (http:\/\/127\.0\.0\.1:\d+)\//.exec(stderr);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once("exit", (code) => reject(new Error(`the console exited (${code}): ${stderr}`)));
  });
});

after(async () => {
  if (consoleProcess && consoleProcess.exitCode === null) {
    const exited = new Promise((resolve) => consoleProcess?.once("exit", resolve));
    consoleProcess.kill("SIGTERM");
    await exited;
  }
  await kafka?.close();
});

const pages: Record<string, string> = {};
/** The picker's query and the CLI's dry-run numbers for it, for the browser test. */
let pickerQuery = "";
let cliNumbers: Array<{ partition: number; records: number }> = [];

describe("web console", () => {
  test("the catalog lists every set with its state, records, codec and encryption; failed and cancelled sets are marked", async () => {
    const { status, text, headers } = await page("/");
    assert.equal(status, 200);
    pages.catalog = text;
    assert.match(headers.get("content-security-policy") ?? "", /default-src 'none'/);
    assert.match(text, /data-location="prod-backups"/);
    assert.match(text, /Chain prod\.hourly-1 \(4 sets\)/);
    const row = (id: string) => {
      const m = new RegExp(`<tr data-backup-id="${id.replaceAll(".", "\\.")}" data-state="(\\w+)">([\\s\\S]*?)</tr>`).exec(text);
      assert.ok(m, `a row for ${id}`);
      const cells = [...(m[2] ?? "").matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) =>
        fromHtml((c[1] ?? "").replace(/<[^>]+>/g, "")).trim(),
      );
      return { state: m[1], cells };
    };
    // Columns: set, state, chain, created, finished, records, stored, segments, topics/partitions, codec, encryption, gaps, validation, owner.
    const first = row("prod.hourly-1");
    assert.equal(first.state, "complete");
    assert.equal(first.cells[5], "200");
    assert.equal(first.cells[2], "full");
    assert.equal(first.cells[9], "zstd");
    assert.equal(first.cells[10], "none");
    assert.equal(row("prod.hourly-2").cells[5], "60");
    assert.equal(row("prod.hourly-2").cells[2], "+1 on prod.hourly-1");
    const fourth = row("prod.hourly-4");
    assert.equal(fourth.cells[5], "35");
    assert.equal(fourth.cells[11], "1", "the retention gap is counted");
    assert.match(
      fourth.cells[12] ?? "",
      /^Warn \(signature verified\) \d{4}-\d{2}-\d{2}T/,
      "the newest validation's verdict, its signature verified with --public-key",
    );
    assert.match(
      row("prod.hourly-2").cells[12] ?? "",
      /^Pass \(signature INVALID\) ?signed by key [0-9a-f]{64}, not by the given public key [0-9a-f]{64}/,
      "evidence signed by another key is marked invalid",
    );
    assert.equal(first.cells[12], "not validated");
    const cancelled = row("prod.hourly-3");
    assert.equal(cancelled.state, "cancelled");
    assert.match(cancelled.cells[1] ?? "", /cancelled \(not a restore point\)/);
    const failed = row("prod.adhoc-1");
    assert.equal(failed.state, "failed");
    assert.match(text, /<span class="state state-failed">failed<\/span> <span class="muted">\(not a restore point\)<\/span>/);
    assert.equal(failed.cells[5], "80", "two segments of 40 records were stored before the upload was denied");
    assert.equal(failed.cells[9], "lz4");
    const secure = row("prod.secure-1");
    assert.equal(secure.cells[10], "AES-256-GCM");
    assert.equal(secure.cells[5], "260");
    assert.match(text, /Achieved RPO over the last 7 days: <strong>/);
  });

  test("the coverage timeline draws the retention gap where its offsets are, and the failed set apart", async () => {
    const { status, text } = await page("/coverage");
    assert.equal(status, 200);
    pages.coverage = text;
    const section = (p: number) => {
      const m = new RegExp(`<section class="partition" data-topic="${topic}" data-partition="${p}">([\\s\\S]*?)</section>`).exec(
        text,
      );
      assert.ok(m, `partition ${p} is drawn`);
      return m[1] ?? "";
    };
    const p0 = section(0);
    const svg = /<svg class="timeline"[^>]*data-from="(\d+)" data-to="(\d+)">/.exec(p0);
    assert.ok(svg);
    const line = { from: Number(svg[1]), to: Number(svg[2]) };
    assert.deepEqual(line, { from: 0, to: 150 }, "partition 0: offsets 0..149 (200+60+20+20 records over two partitions)");
    const gaps = [
      ...p0.matchAll(/<rect class="gap gap-(\w+)" data-start="(\d+)" data-end="(\d+)" x="([\d.]+)" y="\d+" width="([\d.]+)"/g),
    ];
    assert.deepEqual(
      gaps.map((g) => [g[1], Number(g[2]), Number(g[3])]),
      [["recorded", 130, 135]],
    );
    const gap = gaps[0] as RegExpMatchArray;
    assert.equal(Number(gap[4]), offsetX(line, 130), "the gap starts at offset 130's place on the axis");
    assert.equal(Number(gap[4]) + Number(gap[5]), offsetX(line, 135), "and ends at offset 135's");
    const { width, left, right } = timelineGeometry;
    const along = (Number(gap[4]) - left) / (width - left - right);
    assert.ok(Math.abs(along - 130 / 150) < 0.002, `offset 130 of 0..150 is 87% along the axis (${along})`);
    assert.match(p0, /gap: offsets 130–134 \(5\) lost to retention, recorded by prod\.hourly-4/);
    assert.match(p0, /<tr class="gap-row" data-start="130" data-end="135">/);
    // The chain's sets are restorable spans in one row; the encrypted set of another KafkaBackup in its own; the failed set on the last.
    assert.match(p0, /<rect class="span span-usable[^"]*" data-backup-id="prod\.hourly-1" data-from="0" data-to="100"/);
    assert.match(p0, /<rect class="span span-usable[^"]*" data-backup-id="prod\.hourly-2" data-from="100" data-to="130"/);
    assert.match(p0, /<rect class="span span-usable[^"]*" data-backup-id="prod\.hourly-4" data-from="130" data-to="150"/);
    assert.match(p0, /<rect class="span span-incomplete span-failed" data-backup-id="prod\.adhoc-1"/);
    const lanes = [...p0.matchAll(/<g class="lane[^"]*"><text[^>]*>([^<]+)<\/text>/g)].map((m) => m[1]);
    assert.deepEqual(lanes, ["chain prod.hourly-1", "prod.secure-1", "incomplete sets"]);
    const p1 = section(1);
    assert.doesNotMatch(p1, /<rect class="gap/, "partition 1 lost nothing");
    assert.match(p1, /offsets 0–149, no gaps/);
  });

  test("the picker's dry run gives the CLI's numbers for the KafkaRestore it shows", async () => {
    const at = new Date(betweenSets).toISOString();
    const target = `${topic}-pitr`;
    const q = new URLSearchParams({
      location: "prod-backups",
      shown: "1",
      topic,
      [`target.${topic}`]: target,
      at,
      createTopics: "on",
      plan: "1",
    });
    pickerQuery = q.toString();
    const { status, text } = await page(`/restore?${q}`);
    assert.equal(status, 200);
    pages.picker = text;
    assert.doesNotMatch(text, /class="problems"/, "no problems");
    // The point in time is served by the first complete set after it: hourly-4, its chain read up to that time.
    assert.match(text, /Reads backup set <strong data-backup-id="prod\.hourly-4">/);
    const rows = [...text.matchAll(/<tr data-topic="([^"]+)" data-partition="(\d+)" data-records="(\d+)">([\s\S]*?)<\/tr>/g)];
    const shown = rows.map((r) => ({
      partition: Number(r[2]),
      records: Number(r[3]),
      sets: Object.fromEntries(
        [...(r[4] ?? "").matchAll(/data-set="([^"]+)" data-set-records="(\d+)"/g)].map((s) => [s[1], Number(s[2])]),
      ),
    }));
    // Everything produced before that time: 260 records, 130 per partition, 100 from hourly-1 and 30 from hourly-2 each.
    assert.deepEqual(shown, [
      { partition: 0, records: 130, sets: { "prod.hourly-1": 100, "prod.hourly-2": 30 } },
      { partition: 1, records: 130, sets: { "prod.hourly-1": 100, "prod.hourly-2": 30 } },
    ]);
    assert.match(text, /data-records-total="260"/);
    assert.ok(text.includes(`name="at" value="${at}"`), "the form keeps the instant to the millisecond");

    // The manifest on the page, saved and given to the CLI's dry run: the same numbers.
    const yamlText = fromHtml(/<pre id="manifest"><code>([\s\S]*?)<\/code><\/pre>/.exec(text)?.[1] ?? "");
    const manifest = parseYaml(yamlText) as { kind: string; spec: Record<string, unknown> };
    assert.equal(manifest.kind, "KafkaRestore");
    assert.deepEqual(manifest.spec.topicMapping, { [topic]: target });
    assert.deepEqual(manifest.spec.pitr, { endTime: at });
    assert.equal((manifest.spec.backupRef as { backupId: string }).backupId, "prod.hourly-4");
    const file = join(dir, "restore.yaml");
    writeFileSync(file, yamlText);
    const dry = cli(["restore", "--dry-run", "--json", "-c", file, "--secrets-dir", join(dir, "secrets")]);
    assert.equal(dry.status, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout) as DryRunResult;
    assert.equal(plan.recordsTotal, 260);
    assert.deepEqual(
      plan.topics.flatMap((t) =>
        t.partitions.map((p) => ({
          partition: p.partition,
          records: p.records,
          sets: Object.fromEntries(p.sets.map((s) => [s.backupId, s.records])),
        })),
      ),
      shown,
      "the CLI's dry run of the page's manifest counts what the page shows",
    );
    cliNumbers = plan.topics.flatMap((t) => t.partitions.map((p) => ({ partition: p.partition, records: p.records })));
    console.log(`console picker: ${plan.recordsTotal} records in ${shown.length} partitions, the page and the CLI agree`);
  });

  test("the picker reads an encrypted set with the config's key, and says how a KafkaRestore gets it", async () => {
    const q = new URLSearchParams({
      location: "prod-backups",
      shown: "1",
      backupId: "prod.secure-1",
      [`target.${topic}`]: `${topic}-secure`,
      createTopics: "on",
      plan: "1",
    });
    const { status, text } = await page(`/restore?${q}`);
    assert.equal(status, 200);
    pages.encrypted = text;
    assert.doesNotMatch(text, /class="problems"/);
    assert.match(text, /data-records-total="260"/);
    assert.match(text, /This set is encrypted/);
  });

  test("read-only and secret-free: no write method, no Secret value on any page", async () => {
    const post = await fetch(`${base}/`, { method: "POST", body: "x" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    assert.equal((await page("/nothing-here")).status, 404);
    const search = new LeakSearch();
    search.add("catalog page", pages.catalog ?? "", "prod.hourly-1");
    search.add("coverage page", pages.coverage ?? "", "prod.hourly-4");
    search.add("picker page", pages.picker ?? "", "KafkaRestore");
    search.add("picker page (encrypted set)", pages.encrypted ?? "", "prod.secure-1");
    console.log(
      search.assertNone({
        "S3 secret access key": stackEnv("S3_SECRET_ACCESS_KEY"),
        "encryption key (base64)": encryptionKey.toString("base64"),
        "encryption key (hex)": encryptionKey.toString("hex"),
      }),
    );
  });

  test("in a real browser (headless Chromium): the failed set is marked red, the gap is drawn at its offsets, the picker shows the CLI's numbers", async (t) => {
    const chromium = ensureChromium((line) => console.log(line));
    if (!chromium.path) {
      t.skip(chromium.why);
      return;
    }
    const shots = process.env.KBO_CONSOLE_SCREENSHOTS;
    const browser = await Browser.launch(chromium.path, { width: 1900, height: 900 });
    try {
      const catalog = await browser.open(`${base}/`);
      const failed = await catalog.evaluate<{ text: string; background: string; records: string; visible: boolean }>(`(() => {
        const row = document.querySelector('tr[data-backup-id="prod.adhoc-1"]');
        const badge = row.querySelector('.state');
        const box = badge.getBoundingClientRect();
        return { text: badge.innerText, background: getComputedStyle(badge).backgroundColor, records: row.querySelector('td.records').innerText, visible: box.width > 0 && box.height > 0 };
      })()`);
      assert.deepEqual(failed, { text: "failed", background: "rgb(207, 34, 46)", records: "80", visible: true });
      const seen = await catalog.evaluate<string>("document.body.innerText");
      assert.match(seen, /prod\.hourly-1\tcomplete\tfull\t/);
      assert.match(seen, /Chain prod\.hourly-1 \(4 sets\)/);
      if (shots) await catalog.screenshot(join(shots, "catalog.png"));
      await catalog.close();

      const coverage = await browser.open(`${base}/coverage`);
      const drawn = await coverage.evaluate<{
        svgLeft: number;
        svgWidth: number;
        gapLeft: number;
        gapWidth: number;
        gapHeight: number;
        fill: string;
        from: number;
        to: number;
      }>(`(() => {
        const svg = document.querySelector('section.partition[data-partition="0"] svg.timeline');
        const gap = svg.querySelector('rect.gap');
        const s = svg.getBoundingClientRect();
        const g = gap.getBoundingClientRect();
        return { svgLeft: s.left, svgWidth: s.width, gapLeft: g.left, gapWidth: g.width, gapHeight: g.height, fill: getComputedStyle(gap).fill, from: Number(svg.dataset.from), to: Number(svg.dataset.to) };
      })()`);
      // Where the browser painted the gap, in the drawing's own units: offsets 130 to 135 of the axis.
      const scale = drawn.svgWidth / timelineGeometry.width;
      const line = { from: drawn.from, to: drawn.to };
      assert.ok(Math.abs((drawn.gapLeft - drawn.svgLeft) / scale - offsetX(line, 130)) < 1, JSON.stringify(drawn));
      assert.ok(Math.abs(drawn.gapWidth / scale - (offsetX(line, 135) - offsetX(line, 130))) < 1, JSON.stringify(drawn));
      assert.ok(drawn.gapHeight > 10, "the gap is tall enough to see");
      assert.match(drawn.fill, /url\(.*#gap-hatch/);
      if (shots) await coverage.screenshot(join(shots, "coverage.png"));
      await coverage.close();

      const picker = await browser.open(`${base}/restore?${pickerQuery}`);
      const shown = await picker.evaluate<
        Array<{ partition: number; records: number }>
      >(`[...document.querySelectorAll('table.plan tbody tr')].map((tr) => ({
        partition: Number(tr.cells[0].innerText.split('/').pop()),
        records: Number(tr.cells[2].innerText.replaceAll(',', '')),
      }))`);
      assert.deepEqual(shown, cliNumbers, "the numbers a person reads are the CLI's");
      if (shots) await picker.screenshot(join(shots, "restore.png"));
      await picker.close();
      console.log(
        `browser: ${chromium.path}; catalog, coverage and picker checked as drawn${shots ? `; screenshots in ${shots}` : ""}`,
      );
    } finally {
      await browser.close();
    }
  });
});
