// A record batch that reaches us corrupted is refused by name, as the Java consumer refuses it
// (check.crcs): a byte of a batch is flipped in the broker's own log file (the broker serves log
// files as they are, without checking them), and the backup fails naming topic, partition and
// offset, with nothing of that batch stored under a valid segment checksum.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { runBackup } from "../../engine/backup/engine.ts";
import { readManifest } from "../../engine/backupset/catalog.ts";
import { KafkaClient } from "../../engine/kafka/client.ts";
import { stackConfig } from "../stack/config.ts";
import { minioStore } from "../support/backup.ts";
import { stackEnv } from "../support/stack-env.ts";

let kafka: KafkaClient;
const topic = `corrupt-${randomUUID().slice(0, 8)}`;

before(async () => {
  kafka = new KafkaClient({ bootstrapServers: stackEnv("KAFKA_BOOTSTRAP_SERVERS").split(",") });
  const admin = await kafka.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
});
after(async () => {
  await (await kafka.admin()).deleteTopics({ topics: [topic] }).catch(() => {});
  await kafka.close();
});

/** The batches of a partition's first log segment file: where each starts and its base offset. */
function logBatches(file: string): Array<{ position: number; baseOffset: number; length: number }> {
  const bytes = readFileSync(file);
  const out = [];
  for (let pos = 0; pos + 12 <= bytes.length; ) {
    const length = 12 + bytes.readInt32BE(pos + 8);
    if (pos + length > bytes.length) break;
    out.push({ position: pos, baseOffset: Number(bytes.readBigInt64BE(pos)), length });
    pos += length;
  }
  return out;
}

test("a fetched batch whose CRC-32C does not match is refused, naming topic, partition and offset", async () => {
  const producer = kafka.kafka.producer();
  await producer.connect();
  // Three sends, three batches of 50 records.
  for (let b = 0; b < 3; b++) {
    await producer.send({
      topic,
      messages: Array.from({ length: 50 }, (_, i) => ({ key: `k${b}-${i}`, value: `value ${b}-${i} `.repeat(10) })),
    });
  }
  await producer.disconnect();

  // The stack's single broker keeps the partition in its log directory (test/stack/kafka.ts).
  const file = join(stackConfig().stateDir, "data", "kafka", "node-1", "data", `${topic}-0`, "00000000000000000000.log");
  for (let i = 0; i < 50 && !(existsSync(file) && logBatches(file).length >= 3); i++) await sleep(100);
  const batches = logBatches(file);
  assert.equal(batches.length, 3, `three batches in ${file}`);
  const victim = batches[1] as { position: number; baseOffset: number; length: number };
  // One byte inside the second batch's records (past its 61-byte header), flipped in place.
  const at = victim.position + 61 + Math.floor((victim.length - 61) / 2);
  const fd = openSync(file, "r+");
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, at);
    byte[0] = (byte[0] as number) ^ 0xff;
    writeSync(fd, byte, 0, 1, at);
  } finally {
    closeSync(fd);
  }

  const store = await minioStore();
  const backupId = "corrupt";
  await assert.rejects(
    runBackup(kafka, store, {
      backupId,
      selection: { topics: [topic] },
      mode: "snapshot",
      codec: "zstd",
      leaseHolder: "corrupt-test",
    }),
    (err: Error & { reason?: string }) => {
      assert.equal(err.reason, "CorruptRecordBatch");
      assert.match(err.message, new RegExp(`${topic}/0`));
      assert.match(err.message, new RegExp(`offset ${victim.baseOffset}\\b`));
      assert.match(err.message, /corrupt/);
      return true;
    },
  );
  // Whatever was stored before the failure holds nothing at or past the corrupt batch.
  const manifest = await readManifest(store, backupId);
  const segments = manifest.topics.flatMap((t) => t.partitions.flatMap((p) => p.segments));
  for (const s of segments) assert.ok(s.lastOffset < victim.baseOffset, `segment ${s.key} ends before the corrupt batch`);
});
