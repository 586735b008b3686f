// The one logger: pino, JSON lines on stdout (controllers, workers: the container's log) or on
// stderr (the CLI, whose stdout carries the result). Every component takes a Logger and makes children
// carrying its context (the custom resource's namespace/name, the backup id, the topic).
import { pino } from "pino";

export type Logger = pino.Logger;

export function createLogger(name: string, level = process.env.LOG_LEVEL ?? "info", to: "stdout" | "stderr" = "stdout"): Logger {
  return pino(
    {
      name,
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Belt and braces: values under these keys never reach a log line even if passed by mistake.
      redact: {
        paths: [
          "password",
          "*.password",
          "secretAccessKey",
          "*.secretAccessKey",
          "accountKey",
          "*.accountKey",
          "sasToken",
          "*.sasToken",
          "clientSecret",
          "*.clientSecret",
          "privateKey",
          "*.privateKey",
        ],
        censor: "[redacted]",
      },
    },
    pino.destination(to === "stderr" ? 2 : 1),
  );
}

/** A logger that writes nothing, for tests and library callers that bring no logger. */
export const silentLogger: Logger = pino({ level: "silent" });
