// Topic IDs. Kafka gives every topic a UUID when it is created, so a topic deleted and created
// again under the same name has a new one; kafkajs speaks no Metadata version that returns it, so
// this sends Metadata v10 (Kafka ≥ 2.8) itself over kafkajs's broker connections, as client.ts
// does for Fetch. v10 is a "flexible" version: its request header ends with tagged fields, which
// kafkajs's header (v1) lacks, so the body starts with that empty tag section; the response header
// likewise ends with tagged fields, which come first in the payload kafkajs hands back. IDs are
// written as Kafka prints them (base64url of the 16 bytes, no padding).
import Encoder from "kafkajs/src/protocol/encoder.js";
import type { KafkaClient } from "./client.ts";

export interface TopicIds {
  /** The cluster's id, as in the manifest's sourceClusterId. */
  clusterId?: string;
  /** Topic name → topic ID, for the topics that exist. */
  ids: Map<string, string>;
  /** The topics asked for that the cluster does not have (UNKNOWN_TOPIC_OR_PARTITION): deleted, or never created. */
  missing: Set<string>;
}

const UNKNOWN_TOPIC_OR_PARTITION = 3;
// Right after a topic is created: it exists (and has its ID), its leaders are being elected.
const LEADER_NOT_AVAILABLE = 5;
const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA";

function uvarint(n: number): Buffer {
  const out: number[] = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

function metadataV10Body(topics: string[]): Buffer {
  const parts: Buffer[] = [uvarint(0)]; // request header tagged fields (header v2)
  parts.push(uvarint(topics.length + 1));
  for (const name of topics) {
    const bytes = Buffer.from(name, "utf8");
    parts.push(Buffer.alloc(16), uvarint(bytes.length + 1), bytes, uvarint(0)); // topic_id (zero: by name), name, tags
  }
  // allow_auto_topic_creation, include_cluster_authorized_operations, include_topic_authorized_operations, tags
  parts.push(Buffer.from([0, 0, 0]), uvarint(0));
  return Buffer.concat(parts);
}

class Reader {
  pos = 0;
  private readonly b: Buffer;
  constructor(b: Buffer) {
    this.b = b;
  }
  i16() {
    const v = this.b.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  i32() {
    const v = this.b.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  uvarint() {
    let v = 0;
    let shift = 0;
    for (;;) {
      const byte = this.b.readUInt8(this.pos++);
      v |= (byte & 0x7f) << shift;
      if (!(byte & 0x80)) return v >>> 0;
      shift += 7;
    }
  }
  bytes(n: number) {
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** Compact (nullable) string. */
  string(): string | null {
    const n = this.uvarint();
    return n === 0 ? null : this.bytes(n - 1).toString("utf8");
  }
  /** Compact array length (null as 0). */
  count() {
    return Math.max(0, this.uvarint() - 1);
  }
  tags() {
    for (let n = this.uvarint(); n > 0; n--) {
      this.uvarint();
      this.bytes(this.uvarint());
    }
  }
}

/** Metadata v10 response: the cluster id and each topic's error code and ID. */
export function decodeMetadataV10(payload: Buffer): {
  clusterId: string | null;
  topics: Array<{ name: string | null; errorCode: number; topicId: string }>;
} {
  const r = new Reader(payload);
  r.tags(); // response header tagged fields
  r.i32(); // throttle_time_ms
  for (let n = r.count(); n > 0; n--) {
    r.i32(); // node_id
    r.string(); // host
    r.i32(); // port
    r.string(); // rack
    r.tags();
  }
  const clusterId = r.string();
  r.i32(); // controller_id
  const topics: Array<{ name: string | null; errorCode: number; topicId: string }> = [];
  for (let n = r.count(); n > 0; n--) {
    const errorCode = r.i16();
    const name = r.string();
    const topicId = r.bytes(16).toString("base64url");
    r.bytes(1); // is_internal
    for (let p = r.count(); p > 0; p--) {
      r.i16(); // error_code
      r.i32(); // partition_index
      r.i32(); // leader_id
      r.i32(); // leader_epoch
      for (let k = 0; k < 3; k++) for (let m = r.count(); m > 0; m--) r.i32(); // replicas, isr, offline
      r.tags();
    }
    r.i32(); // topic_authorized_operations
    r.tags();
    topics.push({ name, errorCode, topicId });
  }
  return { clusterId, topics };
}

/**
 * The IDs of `topics` that exist, those that do not, and the cluster's id. Any other error on a
 * topic (e.g. not authorized to describe it) throws, naming it.
 */
export async function fetchTopicIds(kafka: KafkaClient, topics: string[]): Promise<TopicIds> {
  if (!topics.length) return { ids: new Map(), missing: new Set() };
  const broker = await kafka.anyBroker();
  const body = metadataV10Body(topics);
  const decoded = await broker.connectionPool.send<ReturnType<typeof decodeMetadataV10>>({
    request: {
      apiKey: 3,
      apiVersion: 10,
      apiName: "Metadata",
      encode: async () => new Encoder().writeBuffer(body),
    },
    response: { decode: async (data: Buffer) => decodeMetadataV10(data), parse: async (data) => data },
  });
  const ids = new Map<string, string>();
  const missing = new Set<string>();
  for (const t of decoded.topics) {
    if (t.name === null) continue;
    if (t.errorCode === UNKNOWN_TOPIC_OR_PARTITION) {
      missing.add(t.name);
      continue;
    }
    if (t.errorCode !== 0 && t.errorCode !== LEADER_NOT_AVAILABLE)
      throw new Error(`Metadata for topic ${t.name} failed with Kafka error code ${t.errorCode}`);
    if (t.topicId !== ZERO_UUID) ids.set(t.name, t.topicId);
  }
  return { ...(decoded.clusterId ? { clusterId: decoded.clusterId } : {}), ids, missing };
}
