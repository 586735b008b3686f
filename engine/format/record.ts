// What a backed-up record is: everything Kafka served for it, nothing added.

export type TimestampType = "CreateTime" | "LogAppendTime";

export interface RecordHeader {
  key: string;
  /** null is a real header value in Kafka and stays distinct from an empty value. */
  value: Buffer | null;
}

export interface BackupRecord {
  /** The record's offset in its source partition. */
  offset: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
  timestampType: TimestampType;
  key: Buffer | null;
  value: Buffer | null;
  /** In the order the producer wrote them; duplicate keys kept. */
  headers: RecordHeader[];
}
