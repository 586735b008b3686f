// The sockets kafkajs connects with, ours so that TLS pointed at a port that speaks something
// else fails at once and says so. A plaintext Kafka listener reads a TLS ClientHello as an absurd
// request size and closes the connection; Node reports "Client network socket disconnected before
// secure TLS connection was established", and kafkajs retries that as a network error for ~40 s.
// Here a connection closed before the TLS handshake completed is probed once with a plain Kafka
// ApiVersions request, the error names the address and the protocol mismatch, and that error is
// not retried (the answer will not change by asking again).
import { isIP, connect as netConnect, type Socket } from "node:net";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import kafkajs from "kafkajs";

// kafkajs is CommonJS and spreads its error classes into its exports: Node sees them only on the default export.
const { KafkaJSConnectionError } = kafkajs;

/** The error code a protocol mismatch carries through kafkajs (its KafkaJSConnectionError keeps `code`). */
export const PROTOCOL_MISMATCH = "EKAFKAPROTOCOLMISMATCH";
const PROBE_TIMEOUT_MS = 2000;
const KEEP_ALIVE_MS = 60_000;

// kafkajs wraps every socket error in a KafkaJSConnectionError it marks retriable, and retries
// those with backoff. A protocol mismatch is not worth retrying: the one error class's
// `retriable` says so for that code (set by kafkajs's constructor, read by its retrier).
const retriable = new WeakMap<object, boolean>();
Object.defineProperty(KafkaJSConnectionError.prototype, "retriable", {
  configurable: true,
  get(this: { code?: string }) {
    return this.code === PROTOCOL_MISMATCH ? false : (retriable.get(this) ?? true);
  },
  set(this: object, value: boolean) {
    retriable.set(this, value);
  },
});

/** Whether host:port answers a plain (no TLS) Kafka ApiVersions request. */
function speaksPlainKafka(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const clientId = Buffer.from("kafka-backup-operator-probe");
    const request = Buffer.alloc(4 + 2 + 2 + 4 + 2 + clientId.length);
    let pos = request.writeInt32BE(request.length - 4, 0);
    pos = request.writeInt16BE(18, pos); // ApiVersions
    pos = request.writeInt16BE(0, pos); // v0
    pos = request.writeInt32BE(0x6b626f31, pos); // correlation id
    pos = request.writeInt16BE(clientId.length, pos);
    clientId.copy(request, pos);
    let received = Buffer.alloc(0);
    const socket = netConnect({ host, port }, () => socket.write(request));
    const done = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), PROBE_TIMEOUT_MS);
    socket.on("data", (d: Buffer) => {
      received = Buffer.concat([received, d]);
      if (received.length >= 8) done(received.readInt32BE(4) === 0x6b626f31);
    });
    socket.on("error", () => done(false));
    socket.on("close", () => done(false));
  });
}

/** A connection closed by the peer before the TLS handshake finished (no TLS alert from it). */
const closedBeforeHandshake = (err: NodeJS.ErrnoException) =>
  err.code === "ECONNRESET" || err.code === "EPIPE" || /before secure TLS connection was established/.test(err.message);

function mismatchError(host: string, port: number, plainKafka: boolean): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(
    plainKafka
      ? `protocol mismatch: ${host}:${port} closed the connection during the TLS handshake and answers Kafka requests without TLS: it is a PLAINTEXT or SASL_PLAINTEXT listener. Set kafkaCluster.securityProtocol to match it, or point kafkaCluster.bootstrapServers at the broker's SSL listener`
      : `protocol mismatch: ${host}:${port} closed the connection before the TLS handshake completed: the port probably does not speak TLS (a PLAINTEXT listener, or not Kafka at all). Check kafkaCluster.securityProtocol and the port in kafkaCluster.bootstrapServers`,
  );
  err.code = PROTOCOL_MISMATCH;
  return err;
}

/** kafkajs's socketFactory contract: ({ host, port, ssl, onConnect }) → a connecting socket. */
export function kafkaSocketFactory() {
  return ({ host, port, ssl, onConnect }: { host: string; port: number; ssl?: ConnectionOptions; onConnect: () => void }) => {
    if (!ssl) {
      const socket = netConnect({ host, port }, onConnect);
      socket.setKeepAlive(true, KEEP_ALIVE_MS);
      return socket;
    }
    const socket = tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...ssl }, onConnect);
    socket.setKeepAlive(true, KEEP_ALIVE_MS);
    let secured = false;
    socket.once("secureConnect", () => {
      secured = true;
    });
    // The handshake's failure is held back until the probe has said what the port speaks.
    const emit = socket.emit.bind(socket) as Socket["emit"];
    let held = false;
    socket.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (held) return true;
      const err = args[0] as NodeJS.ErrnoException;
      if (event === "error" && !secured && closedBeforeHandshake(err)) {
        held = true;
        void speaksPlainKafka(host, port).then((plain) => {
          if (socket.listenerCount("error")) emit("error", mismatchError(host, port, plain));
        });
        return true;
      }
      return emit(event, ...args);
    }) as Socket["emit"];
    return socket;
  };
}
