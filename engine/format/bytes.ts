// Byte-level reading and writing for the segment formats: big- and little-endian integers and
// Kafka-style zigzag varints. Offsets and timestamps are JavaScript numbers: exact up to 2^53,
// far beyond any real offset or millisecond timestamp.

export class FormatError extends Error {
  readonly reason = "CorruptSegment";
  override name = "FormatError";
}

/** A growable buffer written front to back. */
export class ByteWriter {
  private buf: Buffer;
  length = 0;

  constructor(initialSize = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  private ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v;
  }

  /** Unsigned varint of a non-negative integer up to 2^53. */
  uvarint(v: number): void {
    this.ensure(10);
    const b = this.buf;
    let n = v;
    while (n >= 0x80) {
      b[this.length++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    b[this.length++] = n;
  }

  /** Zigzag varint (Kafka's varint/varlong encoding) of an integer in ±2^52. */
  varint(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  /** Length-prefixed bytes; null is written as length -1. */
  nullableBytes(v: Uint8Array | null): void {
    if (v === null) {
      this.varint(-1);
      return;
    }
    this.varint(v.length);
    this.bytes(v);
  }

  bytes(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.length);
    this.length += v.length;
  }

  /** The bytes written so far (a view: copy it before writing more if you keep it). */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/** Reads a buffer front to back; every read is bounds-checked and fails as a FormatError. */
export class ByteReader {
  pos = 0;
  readonly buf: Buffer;
  private readonly what: string;

  constructor(buf: Buffer, what: string) {
    this.buf = buf;
    this.what = what;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw new FormatError(`${this.what}: truncated at byte ${this.pos} (needs ${n} more, has ${this.remaining})`);
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  u16le(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u32le(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  i32le(): number {
    this.need(4);
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  i64le(): number {
    this.need(8);
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return safeNumber(v, this.what);
  }

  uvarint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.u8();
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 0x80;
    }
    throw new FormatError(`${this.what}: varint longer than 8 bytes at byte ${this.pos}`);
  }

  varint(): number {
    const z = this.uvarint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  nullableBytes(): Buffer | null {
    const n = this.varint();
    if (n === -1) return null;
    if (n < -1) throw new FormatError(`${this.what}: negative length ${n} at byte ${this.pos}`);
    return this.bytes(n);
  }
}

export function safeNumber(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new FormatError(`${what}: 64-bit value ${v} is out of range`);
  }
  return Number(v);
}

/**
 * UTF-8 bytes of header keys, encoded once per distinct key: records repeat a handful of header
 * keys, and encoding each occurrence cost an allocation per header. Bounded, so unusual data
 * (a distinct key per record) only falls back to encoding each time.
 */
export class HeaderKeyBytes {
  private readonly cache = new Map<string, Buffer>();
  private readonly limit: number;

  constructor(limit = 1024) {
    this.limit = limit;
  }

  of(key: string): Buffer {
    let bytes = this.cache.get(key);
    if (bytes === undefined) {
      bytes = Buffer.from(key, "utf8");
      if (this.cache.size < this.limit) this.cache.set(key, bytes);
    }
    return bytes;
  }
}
