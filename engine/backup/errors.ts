// A backup that cannot go on: `reason` becomes the condition reason, the message names what to fix.
export class BackupError extends Error {
  readonly reason: string;
  override name = "BackupError";
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}
