// Producing into one target partition as the Java idempotent producer does: batches numbered by
// sequence, up to five requests in flight, and a failed request resent in order (each resend
// waits for the batch before it), so the broker stores every batch exactly once and in order.
import { setTimeout as sleep } from "node:timers/promises";
import { type KafkaClient, retriableProduceErrors } from "../kafka/client.ts";
import type { Logger } from "../log.ts";

const DUPLICATE_SEQUENCE_NUMBER = 46;
const OUT_OF_ORDER_SEQUENCE_NUMBER = 45;

export class ProduceError extends Error {
  readonly reason = "KafkaError";
  override name = "RestoreError";
}

export interface ProducerIdentity {
  producerId: number;
  producerEpoch: number;
}

export interface PartitionProducerOptions {
  acks: -1 | 1;
  timeoutMs: number;
  /** Requests in flight at once (the Java producer allows at most 5 with idempotence). */
  maxInFlight: number;
  log: Logger;
  /** Called before every request (the lease check of a sharded run). */
  beforeSend?: () => void;
  /** Where the batch landed, against where it was expected (another writer moves it). */
  onStored?: (baseOffset: number, expectedBaseOffset: number) => void;
}

export class PartitionProducer {
  readonly topic: string;
  readonly partition: number;
  #sequence: number;
  readonly #kafka: KafkaClient;
  readonly #id: ProducerIdentity;
  readonly #o: PartitionProducerOptions;
  readonly #inFlight: Promise<void>[] = [];
  /** Settles when the last batch sent so far is stored (or failed). */
  #previous: Promise<unknown> = Promise.resolve();
  #failure: { error: unknown } | undefined;
  #stored = false;
  #leader: number | undefined;
  /** Batches refused once and not yet stored. */
  #resending = 0;

  constructor(kafka: KafkaClient, topic: string, partition: number, id: ProducerIdentity, o: PartitionProducerOptions) {
    this.#kafka = kafka;
    this.topic = topic;
    this.partition = partition;
    this.#id = id;
    this.#o = o;
    this.#sequence = 0;
  }

  /**
   * Sends one batch of `count` records, built for this producer's id, epoch and next sequence.
   * Returns once the request is on its way (waiting while five are in flight); `drain` waits for
   * every acknowledgement.
   */
  async send(
    build: (producer: ProducerIdentity & { baseSequence: number }) => Buffer,
    count: number,
    expectedBaseOffset: number,
    onStored?: () => void,
  ): Promise<void> {
    this.#throwIfFailed();
    // The first batch goes alone: a broker with no state for this producer takes whichever
    // sequence arrives first as the start, so two first batches arriving swapped would leave the
    // earlier one refused for good. Once one is stored, a swapped arrival is refused as out of
    // order and resent in order.
    while (this.#inFlight.length >= (this.#stored ? this.#o.maxInFlight : 1)) {
      await this.#inFlight.shift();
      this.#throwIfFailed();
    }
    const bytes = build({ ...this.#id, baseSequence: this.#sequence });
    this.#sequence = (this.#sequence + count) % 2 ** 31;
    const previous = this.#previous;
    const done = this.#deliver(bytes, previous, expectedBaseOffset)
      .then(() => onStored?.())
      .catch((error: unknown) => {
        this.#failure ??= { error };
      });
    this.#previous = done;
    this.#inFlight.push(done);
  }

  /** Waits until every batch sent is stored; throws the first failure. */
  async drain(): Promise<void> {
    await Promise.all(this.#inFlight.splice(0));
    this.#throwIfFailed();
  }

  async #deliver(bytes: Buffer, previous: Promise<unknown>, expectedBaseOffset: number): Promise<void> {
    const where = `${this.topic}/${this.partition}`;
    // While an earlier batch is being resent, a new one waits its turn too: going out first, it
    // would be refused as out of order and start the same dance again.
    if (this.#resending > 0) await previous;
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) {
        // A resend goes out only after the batch before it is stored: sequences stay in order.
        await previous;
        if (this.#failure) return;
        await sleep(Math.min(5000, 100 * 2 ** attempt));
      }
      this.#o.beforeSend?.();
      // Looked up once and again only after a failure: a lookup that refreshes metadata would let
      // a later batch overtake this one on the way to the socket.
      if (attempt > 1 || this.#leader === undefined) {
        this.#leader = (await this.#kafka.leaders([this.topic], attempt > 1)).get(this.topic)?.get(this.partition);
      }
      const leader = this.#leader;
      const result =
        leader === undefined || leader < 0
          ? { errorCode: 5, baseOffset: -1 }
          : await this.#kafka
              .produce(leader, this.topic, this.partition, bytes, { acks: this.#o.acks, timeoutMs: this.#o.timeoutMs })
              .catch((err: Error) => {
                this.#o.log.warn({ target: where, err: err.message }, "produce failed; resending the same batch");
                return { errorCode: 13, baseOffset: -1 };
              });
      // An earlier attempt of this very batch was stored.
      if (result.errorCode === DUPLICATE_SEQUENCE_NUMBER || result.errorCode === 0) {
        if (attempt > 1) this.#resending--;
      }
      if (result.errorCode === DUPLICATE_SEQUENCE_NUMBER) {
        this.#stored = true;
        return;
      }
      if (result.errorCode === 0) {
        this.#stored = true;
        this.#o.onStored?.(result.baseOffset, expectedBaseOffset);
        return;
      }
      // Out of order: a batch before this one failed and is being resent; this one follows it.
      const retriable = retriableProduceErrors.has(result.errorCode) || result.errorCode === OUT_OF_ORDER_SEQUENCE_NUMBER;
      if (!retriable || attempt > 20) {
        throw new ProduceError(`produce to ${where} failed with Kafka error code ${result.errorCode}`);
      }
      if (attempt === 1) {
        this.#resending++;
        this.#o.log.debug({ target: where, errorCode: result.errorCode }, "produce refused; resending in order");
      }
    }
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }
}
