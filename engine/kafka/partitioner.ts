// The partition the Java client's default partitioner picks for a keyed record:
// toPositive(murmur2(key)) % partitions. kafkajs's DefaultPartitioner carries the same murmur2;
// it is used as is rather than written again.
import murmur2 from "kafkajs/src/producer/partitioners/default/murmur2.js";

export function javaPartition(key: Buffer, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partition count ${partitions}`);
  // toPositive, as the Java client does it: a mask, not Math.abs.
  return (murmur2(key) & 0x7fffffff) % partitions;
}
