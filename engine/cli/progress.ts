// Progress on stderr: one rewritten line on a terminal, JSON lines with --json, nothing otherwise
// (a log file or CI output should not fill with carriage returns).
/** What a progress line shows; with --json every field goes out as it is. */
export interface ProgressView {
  percent?: number;
  records: number;
  bytes: number;
  recordsPerSec: number;
  bytesPerSec: number;
  etaSeconds?: number;
  /** Shown last, e.g. "lag 1200" or the current topic. */
  detail?: string;
}

export class ProgressLine {
  private readonly json: boolean;
  private readonly tty: boolean;
  private drawn = false;

  constructor(json: boolean) {
    this.json = json;
    this.tty = Boolean(process.stderr.isTTY);
  }

  update(p: ProgressView): void {
    if (this.json) {
      process.stderr.write(`${JSON.stringify({ event: "progress", ...p })}\n`);
      return;
    }
    if (!this.tty) return;
    const width = 24;
    const filled = p.percent === undefined ? 0 : Math.round((p.percent / 100) * width);
    const bar =
      p.percent === undefined ? "" : `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${p.percent.toFixed(0).padStart(3)}% `;
    const eta = p.etaSeconds === undefined ? "" : ` eta ${Math.ceil(p.etaSeconds)}s`;
    process.stderr.write(
      `\r${bar}${p.records} records, ${(p.bytes / 1e6).toFixed(1)} MB, ${Math.round(p.recordsPerSec)} rec/s, ${(p.bytesPerSec / 1e6).toFixed(1)} MB/s${p.detail ? `, ${p.detail}` : ""}${eta}\x1b[K`,
    );
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) process.stderr.write("\n");
  }
}
