// The partition the Java client's default partitioner picks for a keyed record:
// toPositive(murmur2(key)) % partitions. kafkajs's DefaultPartitioner carries the same murmur2;
// it is used as is rather than written again.
import murmur2 from "kafkajs/src/producer/partitioners/default/murmur2.js";

export function javaPartition(key: Buffer, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partition count ${partitions}`);
  // biome-ignore lint/suspicious/noBitwiseOperators: toPositive is a bit mask in the Java client too.
  return (murmur2(key) & 0x7fffffff) % partitions;
}
