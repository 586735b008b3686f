// A logger whose lines a test can read back: what the engine warned about, retried or redacted.
import { Writable } from "node:stream";
import { pino } from "pino";

export function captureLogs(level: pino.Level = "trace"): { logger: pino.Logger; text(): string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level }, sink), text: () => lines.join("") };
}
